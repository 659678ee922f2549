//! The condition every row must meet to reach any result of a query, whatever the run: the
//! WHERE commands it starts with. A caller that reads many events for many queries drops the
//! rows that fail it while reading, so that each query's input holds only the rows it can use.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{LogicalPlan, lit};
use datafusion::prelude::Expr;
use datafusion::scalar::ScalarValue;

use crate::Query;
use crate::ast::{Command, CommandKind};
use crate::planner::Planner;

impl Query {
    /// The conditions of the WHERE commands the query starts with (directly after FROM; the
    /// conjuncts that do not call NOW()), as a predicate over the columns of `input`, a scan of
    /// the table. Dropping the rows that fail it changes no result: the query still applies
    /// its WHEREs. `None` when the query starts with another command, or DataFusion's
    /// optimizer cannot bring the condition down to the scan's columns.
    pub fn leading_filter(&self, input: LogicalPlan) -> Option<Expr> {
        let leading: Vec<Command> = self
            .commands
            .iter()
            .take_while(|c| matches!(c.kind, CommandKind::Where(_)))
            .filter_map(Command::where_without_now)
            .collect();
        if leading.is_empty() {
            return None;
        }
        let no_time = lit(ScalarValue::TimestampMillisecond(None, Some("UTC".into())));
        let mut planner = Planner::from(&self.text, input, &self.fields(), &self.metadata, no_time, Vec::new()).ok()?;
        for command in &leading {
            planner.command(command).ok()?;
        }
        let plan = crate::session_context().state().optimize(&planner.finish().ok()?).ok()?;
        // The filters push down through FROM's projection onto the scan.
        let mut predicate = None;
        plan.apply(|node| {
            if let LogicalPlan::Filter(filter) = node
                && matches!(filter.input.as_ref(), LogicalPlan::TableScan(_))
            {
                predicate = Some(filter.predicate.clone());
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .ok()?;
        predicate
    }
}
