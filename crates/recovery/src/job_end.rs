//! How a runner's outcome ends its job: what export and restore share, below the worker that
//! dispatches to them.

use jobs::{Job, JobState, Jobs};

use crate::RecoveryError;

/// Ends a job as its runner came out of it: done with its result, cancelled (None), or failed
/// with the one sentence of its error. A lost lease or an unreachable queue is passed on: the
/// job is then not this worker's to end.
pub(crate) async fn end_job<R: serde::Serialize>(
    jobs: &Jobs,
    job: &Job,
    lease: &jobs::Lease,
    outcome: Result<Option<R>, RecoveryError>,
) -> Result<Job, RecoveryError> {
    match outcome {
        Ok(Some(result)) => {
            let result = serde_json::to_string(&result)?;
            Ok(jobs
                .finish(lease, JobState::Done, None, Some(&result))
                .await?)
        }
        Ok(None) => Ok(jobs.finish(lease, JobState::Cancelled, None, None).await?),
        Err(RecoveryError::Jobs(e)) => Err(RecoveryError::Jobs(e)),
        Err(e) => {
            tracing::warn!(job = job.id, kind = %job.kind, error = %e, "job failed");
            Ok(jobs
                .finish(lease, JobState::Failed, Some(&e.to_string()), None)
                .await?)
        }
    }
}
