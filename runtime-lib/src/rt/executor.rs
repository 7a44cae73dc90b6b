//! The executor: [`block_on`] drives the main future and every [`spawn`]ed task on the
//! calling thread, waiting on the reactor and timers whenever no task is ready.
//!
//! Tasks live in `async-task` cells; a woken task's `Runnable` goes into one FIFO queue, so
//! tasks run in the order they were woken (timers fire in deadline order, hence their tasks
//! run in that order too). Each turn runs the tasks queued when it started, then asks the
//! event loop for readiness: a task that keeps waking itself cannot starve the sockets.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_task::{Runnable, Task};
use futures_util::FutureExt;
use slab::Slab;

use super::client::Pool;
use super::reactor::{Reactor, RemoteWake};
use super::time::Timers;

/// One runtime: everything [`block_on`] drives, reachable from futures through [`current`].
pub(crate) struct Core {
    /// Distinguishes runtimes, so a socket knows which reactor it is registered with.
    pub(crate) id: u64,
    pub(crate) reactor: RefCell<Reactor>,
    pub(crate) timers: RefCell<Timers>,
    /// Idle keep-alive connections of the async client, per host.
    pub(crate) pool: RefCell<Pool>,
    shared: Arc<Shared>,
    /// A waker for every live task, so that a runtime that ends can drop them all.
    active: RefCell<Slab<Waker>>,
}

/// What wakers may touch from anywhere: the run queue.
struct Shared {
    queue: Mutex<VecDeque<Runnable>>,
    remote: RemoteWake,
}

impl Shared {
    fn schedule(&self, runnable: Runnable) {
        lock(&self.queue).push_back(runnable);
        self.remote.wake_if_remote();
    }

    fn pop(&self) -> Option<Runnable> {
        lock(&self.queue).pop_front()
    }

    fn queued(&self) -> usize {
        lock(&self.queue).len()
    }
}

/// A poisoned queue only means a panic happened elsewhere while it was held; the queue itself
/// is still consistent (push and pop cannot panic halfway).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// The runtime of the calling thread, when inside [`block_on`].
pub(crate) fn current() -> Option<Rc<Core>> {
    CURRENT.with(|current| current.borrow().clone())
}

static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

impl Core {
    fn new() -> std::io::Result<Core> {
        let (reactor, remote) = Reactor::new()?;
        Ok(Core {
            id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
            reactor: RefCell::new(reactor),
            timers: RefCell::new(Timers::default()),
            pool: RefCell::new(Pool::default()),
            shared: Arc::new(Shared {
                queue: Mutex::new(VecDeque::new()),
                remote,
            }),
            active: RefCell::new(Slab::new()),
        })
    }

    /// Runs the tasks that are queued now (not those they wake: they wait for the next turn).
    fn run_queued(&self) {
        for _ in 0..self.shared.queued() {
            match self.shared.pop() {
                Some(runnable) => {
                    runnable.run();
                }
                None => break,
            }
        }
    }

    /// Waits for readiness or the next timer (not at all when `busy`) and wakes who can go on.
    fn turn(&self, busy: bool) -> std::io::Result<()> {
        let timeout = if busy {
            Some(Duration::ZERO)
        } else {
            self.timers
                .borrow()
                .next_deadline()
                .map(|deadline| deadline.saturating_duration_since(Instant::now()))
        };
        let mut woken = Vec::new();
        self.reactor.borrow_mut().poll(timeout, &mut woken)?;
        self.timers.borrow_mut().fire(Instant::now(), &mut woken);
        // Woken outside the borrows: a wake may drop the last reference to a task.
        for waker in woken {
            waker.wake();
        }
        Ok(())
    }

    /// Drops every task's future (closing the sockets they own) and the idle connections.
    /// Runs while this runtime is still current, so sockets can deregister themselves.
    fn teardown(&self) {
        drop(std::mem::take(&mut *self.pool.borrow_mut()));
        loop {
            let wakers: Vec<Waker> = std::mem::take(&mut *self.active.borrow_mut())
                .into_iter()
                .map(|(_, waker)| waker)
                .collect();
            // Woken, an idle task is queued; a queued runnable dropped unrun drops its future.
            for waker in wakers {
                waker.wake();
            }
            let mut dropped_any = false;
            while let Some(runnable) = self.shared.pop() {
                drop(runnable);
                dropped_any = true;
            }
            if !dropped_any && self.active.borrow().is_empty() {
                break;
            }
        }
    }
}

/// Wakes the main future of [`block_on`].
struct MainWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.shared.remote.wake_if_remote();
        }
    }
}

/// Uninstalls the runtime when [`block_on`] ends, normally or by a panic.
struct Installed(Rc<Core>);

impl Drop for Installed {
    fn drop(&mut self) {
        self.0.teardown();
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

/// Runs `future` to completion on this thread, together with every task it [`spawn`]s:
/// the entry point of an async `main`.
///
/// When `future` completes, the tasks still running are dropped (their sockets closed) and
/// its output is returned.
///
/// # Panics
///
/// When called inside another `block_on` on the same thread (`.await` the future instead),
/// when the event loop cannot be created or fails, and when every task waits with nothing
/// that could ever wake one (no socket watched, no timer; only possible on wasm, where no
/// other thread exists).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let core = match Core::new() {
        Ok(core) => Rc::new(core),
        Err(error) => panic!("wasock: cannot start the async runtime: {error}"),
    };
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        assert!(
            current.is_none(),
            "wasock::rt::block_on called inside block_on on the same thread; help: `.await` \
             the future, or `spawn` it"
        );
        *current = Some(core.clone());
    });
    let _installed = Installed(core.clone());
    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        shared: core.shared.clone(),
    });
    let waker = Waker::from(main.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if main.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
        core.run_queued();
        let busy = main.woken.load(Ordering::Acquire) || core.shared.queued() > 0;
        if let Err(error) = core.turn(busy) {
            panic!("wasock: the async runtime cannot go on: {error}");
        }
    }
}

/// Starts `future` as a task on the current runtime and returns a handle to its output.
///
/// The task runs on this thread, interleaved with the others at their `.await`s; it needs
/// not be `Send`. Dropping the handle lets the task run on (detached);
/// [`JoinHandle::abort`] drops it.
///
/// # Panics
///
/// Outside [`block_on`].
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let core = current().expect(
        "wasock::rt::spawn called outside an async runtime; help: run the async code with \
         wasock::rt::block_on",
    );
    let mut active = core.active.borrow_mut();
    let entry = active.vacant_entry();
    let index = entry.key();
    let runtime = core.id;
    let future = async move {
        let _done = Unlist { runtime, index };
        AssertUnwindSafe(future).catch_unwind().await
    };
    let shared = core.shared.clone();
    let (runnable, task) =
        async_task::spawn_local(future, move |runnable| shared.schedule(runnable));
    entry.insert(runnable.waker());
    drop(active);
    runnable.schedule();
    JoinHandle {
        task: Some(task),
        aborted: false,
    }
}

/// Removes a task from its runtime's list of live tasks when its future is dropped.
struct Unlist {
    runtime: u64,
    index: usize,
}

impl Drop for Unlist {
    fn drop(&mut self) {
        if let Some(core) = current().filter(|core| core.id == self.runtime) {
            if let Ok(mut active) = core.active.try_borrow_mut() {
                active.try_remove(self.index);
            }
        }
    }
}

type Caught<T> = Result<T, Box<dyn Any + Send>>;

/// The output of a [`spawn`]ed task, as a future: `Ok(output)`, or why there is none.
///
/// Dropping the handle detaches the task (it runs on); [`abort`](Self::abort) cancels it.
pub struct JoinHandle<T> {
    task: Option<Task<Caught<T>>>,
    aborted: bool,
}

impl<T> JoinHandle<T> {
    /// Cancels the task: its future is dropped (with the sockets it owns) before it runs
    /// again, at the latest on the runtime's next turn. Awaiting the handle then gives
    /// [`JoinError::Cancelled`].
    pub fn abort(&mut self) {
        if let Some(task) = self.task.take() {
            drop(task);
            self.aborted = true;
        }
    }

    /// Whether the task has finished (or was cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|task| task.is_finished())
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(task) = self.task.as_mut() else {
            return Poll::Ready(Err(JoinError::Cancelled));
        };
        let output = match Pin::new(task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(output) => output,
        };
        self.task = None;
        Poll::Ready(output.map_err(|panic| JoinError::Panicked(panic_message(&*panic))))
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .field("aborted", &self.aborted)
            .finish()
    }
}

/// Why a [`JoinHandle`] yields no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The task was cancelled with [`JoinHandle::abort`].
    #[error("the task was cancelled")]
    Cancelled,
    /// The task panicked (natively; on wasm a panic aborts the program); the panic message.
    #[error("the task panicked: {0}")]
    Panicked(String),
}

pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Lets the other ready tasks run before this one goes on.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}
