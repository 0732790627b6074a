//! Running a closure as a store job and getting its result back: the one bridge between the async
//! callers and the synchronous `Tx` that every caller (flows, start-up, demo data, import) uses.

use super::{Job, Outcome, Store, StoreError, Tx};
use tokio::sync::oneshot;

/// A unit of work on one transaction, with its own result; an `Err` rolls the transaction back.
pub trait TxFn<T, E>: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static {}
impl<T, E, F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static> TxFn<T, E> for F {}

/// What a job's result may be: anything that crosses threads and can say the store failed.
pub trait TxError: From<StoreError> + Send + 'static {}
impl<E: From<StoreError> + Send + 'static> TxError for E {}

fn job<T: Send + 'static, E: TxError>(
    kind: &'static str,
    f: impl TxFn<T, E>,
) -> (Job, oneshot::Receiver<Result<T, E>>) {
    let (send, recv) = oneshot::channel();
    let asked = std::time::Instant::now();
    let job: Job = Box::new(move |tx: &mut dyn Tx| {
        // From asking to running: the wait for the writer, a reader or a pooled connection.
        crate::metrics::observe(
            "renche_store_wait_seconds",
            &[("kind", kind)],
            asked.elapsed(),
        );
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
pub async fn write<T: Send + 'static, E: TxError>(
    store: &dyn Store,
    f: impl TxFn<T, E>,
) -> Result<T, E> {
    run(store, Access::Write, f).await
}

/// Runs `f` in one read snapshot.
pub async fn read<T: Send + 'static, E: TxError>(
    store: &dyn Store,
    f: impl TxFn<T, E>,
) -> Result<T, E> {
    run(store, Access::Read, f).await
}

enum Access {
    Read,
    Write,
}

async fn run<T: Send + 'static, E: TxError>(
    store: &dyn Store,
    access: Access,
    f: impl TxFn<T, E>,
) -> Result<T, E> {
    let asked = std::time::Instant::now();
    let kind = match access {
        Access::Read => "read",
        Access::Write => "write",
    };
    let (job, recv) = job(kind, f);
    match access {
        Access::Read => store.read(job).await?,
        Access::Write => store.write(job).await?,
    }
    let result = recv.await.map_err(|_| E::from(StoreError::Closed))?;
    crate::metrics::observe(
        "renche_store_transaction_seconds",
        &[("kind", kind)],
        asked.elapsed(),
    );
    result
}
