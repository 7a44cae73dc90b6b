//! Timers: [`sleep`], [`sleep_until`], [`timeout`] and [`timeout_at`].
//!
//! Pending timers sit in one ordered map keyed by (deadline, sequence number). The reactor
//! waits no longer than the earliest deadline; due timers are woken in key order, so tasks
//! whose deadlines differ resume in deadline order and equal deadlines resume in the order
//! they were set. A timer may fire a little late (the OS wakes us when it can), never early.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::executor::current;

type Key = (Instant, u64);

#[derive(Default)]
pub(crate) struct Timers {
    pending: BTreeMap<Key, Waker>,
    next_sequence: u64,
}

impl Timers {
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.keys().next().map(|&(deadline, _)| deadline)
    }

    /// Moves the wakers of every timer due at `now` to `woken`, earliest first.
    pub(crate) fn fire(&mut self, now: Instant, woken: &mut Vec<Waker>) {
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            woken.push(entry.remove());
        }
    }

    fn insert(&mut self, deadline: Instant, waker: &Waker) -> Key {
        let key = (deadline, self.next_sequence);
        self.next_sequence += 1;
        self.pending.insert(key, waker.clone());
        key
    }
}

/// Completes once `duration` has passed. See [`Sleep`].
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Completes at `deadline` (at once if it has passed). See [`Sleep`].
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// A timer future. `Unpin` and `Send`; dropping it cancels the timer.
///
/// # Panics
///
/// When polled outside [`block_on`](super::block_on) before its deadline.
pub struct Sleep {
    deadline: Instant,
    /// The runtime and key of the pending timer, once polled.
    entry: Option<(u64, Key)>,
}

impl Sleep {
    /// When it completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (earlier or later), as if newly created.
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some((runtime, key)) = self.entry.take() {
            if let Some(core) = current().filter(|core| core.id == runtime) {
                if let Ok(mut timers) = core.timers.try_borrow_mut() {
                    timers.pending.remove(&key);
                }
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            self.cancel();
            return Poll::Ready(());
        }
        let core = current().expect(
            "a wasock timer was polled outside an async runtime; help: run the async code with \
             wasock::rt::block_on",
        );
        let mut timers = core.timers.borrow_mut();
        match self.entry {
            Some((runtime, key)) if runtime == core.id => match timers.pending.get_mut(&key) {
                Some(waker) => {
                    if !waker.will_wake(cx.waker()) {
                        waker.clone_from(cx.waker());
                    }
                }
                // Fired, yet polled before its deadline: woken by something else.
                None => {
                    let key = timers.insert(self.deadline, cx.waker());
                    self.entry = Some((core.id, key));
                }
            },
            _ => {
                let key = timers.insert(self.deadline, cx.waker());
                self.entry = Some((core.id, key));
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Runs `future` for at most `duration`: `Err(Elapsed)` when the time runs out first (the
/// future is then dropped with the [`Timeout`]).
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    timeout_at(Instant::now() + duration, future)
}

/// Runs `future` until `deadline` at most; see [`timeout`].
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`]: the inner future's output, or [`Elapsed`].
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The time of a [`timeout`] ran out. Converts into an `io::Error` of kind `TimedOut`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline has elapsed")]
pub struct Elapsed(());

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}
