//! The worker's side: a gRPC server that runs the plan fragments coordinators send.

use std::net::SocketAddr;

use datafusion::common::{DataFusionError, Result};
use datafusion::execution::SessionState;
use datafusion_distributed::{DistributedExt, Worker, WorkerQueryContext};
use keytrail_engine::MemoryOptions;

use crate::codec::KeytrailCodec;

/// Serves plan fragments on `address` until the process ends, each query's operators
/// bounded by `memory` (shared by the queries the worker runs at once).
pub async fn serve(address: SocketAddr, memory: &MemoryOptions) -> Result<()> {
    let runtime = memory.runtime()?;
    let worker = Worker::from_session_builder(worker_state).with_runtime_env(runtime);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| DataFusionError::Execution(format!("cannot listen on {address}: {e}")))?;
    let bound = listener.local_addr().map_err(|e| DataFusionError::Execution(e.to_string()))?;
    // The address, once bound, on stdout: a script (or a test) that asked for port 0 reads it.
    println!("keytrail worker listening on {bound}");
    tonic::transport::Server::builder()
        .add_service(worker.into_worker_server())
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
        .await
        .map_err(|e| DataFusionError::Execution(format!("the worker stopped: {e}")))
}

async fn worker_state(context: WorkerQueryContext) -> Result<SessionState> {
    Ok(context
        .builder
        .with_distributed_user_codec(KeytrailCodec)
        .with_scalar_functions(keytrail_lake::functions())
        .build())
}
