//! Running a closure as a store job and getting its result back: the one bridge between the async
//! callers and the synchronous `Tx` that every caller (flows, start-up, demo data, import) uses.

use super::{Job, Outcome, Store, StoreError, Tx};
use tokio::sync::oneshot;

fn job<T, E, F>(f: F) -> (Job, oneshot::Receiver<Result<T, E>>)
where
    F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let (send, recv) = oneshot::channel();
    let job: Job = Box::new(move |tx: &mut dyn Tx| {
        let result = f(tx);
        let outcome = if result.is_ok() {
            Outcome::Commit
        } else {
            Outcome::Rollback
        };
        // The caller may have gone away (a dropped request); the transaction's fate is already decided.
        let _ = send.send(result);
        outcome
    });
    (job, recv)
}

/// Runs `f` in one write transaction; an `Err` rolls everything back.
pub async fn write<T, E, F>(store: &dyn Store, f: F) -> Result<T, E>
where
    F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let (job, recv) = job(f);
    store.write(job).await?;
    recv.await.map_err(|_| E::from(StoreError::Closed))?
}

/// Runs `f` in one read snapshot.
pub async fn read<T, E, F>(store: &dyn Store, f: F) -> Result<T, E>
where
    F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let (job, recv) = job(f);
    store.read(job).await?;
    recv.await.map_err(|_| E::from(StoreError::Closed))?
}
