//! How keytrail's plan nodes and functions travel to workers.

use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use keytrail_engine::{CloudTrailScanExec, CountedEventsExec};

use node_proto::Node;
use prost::Message;

/// Encodes keytrail's plan nodes: the `cloudtrail` table's scan (what to read and how, and
/// the handle of the feed that streams its objects), and the count of a lake's events. (The
/// functions a lake's plan calls go by name: workers have them registered.)
#[derive(Debug, Default)]
pub struct KeytrailCodec;

/// One of keytrail's nodes, as it travels.
#[derive(Clone, PartialEq, prost::Message)]
struct NodeProto {
    #[prost(oneof = "node_proto::Node", tags = "1, 2")]
    node: Option<node_proto::Node>,
}

mod node_proto {
    // One is decoded per plan node, and dropped at once: its size does not matter.
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Node {
        #[prost(message, tag = "1")]
        Scan(keytrail_engine::ScanProto),
        #[prost(message, tag = "2")]
        Counted(keytrail_engine::CountedProto),
    }
}

impl PhysicalExtensionCodec for KeytrailCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        _context: &TaskContext,
        _converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let proto = NodeProto::decode(buf).map_err(|e| {
            DataFusionError::Internal(format!(
                "cannot decode a keytrail plan node (is this worker's keytrail the coordinator's version?): {e}"
            ))
        })?;
        match (proto.node, inputs) {
            (Some(Node::Scan(scan)), []) => Ok(Arc::new(CloudTrailScanExec::from_proto(scan)?)),
            (Some(Node::Counted(counted)), [input]) => {
                Ok(Arc::new(CountedEventsExec::from_proto(counted, input.clone())?))
            }
            (node, inputs) => Err(DataFusionError::Internal(format!(
                "a keytrail plan node that cannot be: {node:?} with {} inputs",
                inputs.len()
            ))),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        _converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let encoded = if let Some(scan) = node.downcast_ref::<CloudTrailScanExec>() {
            Node::Scan(scan.to_proto())
        } else if let Some(counted) = node.downcast_ref::<CountedEventsExec>() {
            Node::Counted(counted.to_proto())
        } else {
            return Err(DataFusionError::NotImplemented(format!("{} cannot run on a worker", node.name())));
        };
        NodeProto { node: Some(encoded) }
            .encode(buf)
            .map_err(|e| DataFusionError::Internal(format!("cannot encode a keytrail plan node: {e}")))
    }
}
