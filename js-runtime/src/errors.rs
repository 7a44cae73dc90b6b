//! Uncaught errors end the script, as in Node.js: an exception thrown at the top level or
//! by a timer callback, and a rejected promise that nobody handles by the time the pending
//! jobs have run, print the error with its JavaScript stack to stderr and exit with 1.

use std::cell::RefCell;
use std::io::Write;

use rquickjs::{Ctx, Exception, Persistent, Value};

/// Exit code of a script that ended with an uncaught error.
pub const UNCAUGHT_EXIT_CODE: i32 = 1;

/// `value` as thrown: `Name: message` and the stack for errors, else as `print` shows it.
pub fn describe<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> String {
    if let Some(exception) = value
        .as_object()
        .and_then(|o| Exception::from_object(o.clone()))
    {
        let name: String = exception
            .get::<_, Option<String>>("name")
            .ok()
            .flatten()
            .unwrap_or_else(|| "Error".into());
        let mut text = format!("{name}: {}", exception.message().unwrap_or_default());
        if let Some(stack) = exception.stack().filter(|stack| !stack.trim().is_empty()) {
            text.push('\n');
            text.push_str(stack.trim_end());
        }
        return text;
    }
    crate::globals::format_value(ctx, value)
}

/// Prints `{prefix} {error}` with its stack and exits with [`UNCAUGHT_EXIT_CODE`].
pub fn exit_with<'js>(ctx: &Ctx<'js>, value: Value<'js>, prefix: &str) -> ! {
    let text = describe(ctx, value);
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr(), "{prefix} {text}");
    std::process::exit(UNCAUGHT_EXIT_CODE)
}

/// [`exit_with`] for an error returned by rquickjs (the pending exception, if any).
pub fn exit_uncaught<'js>(ctx: &Ctx<'js>, error: rquickjs::Error, prefix: &str) -> ! {
    if error.is_exception() {
        let value = ctx.catch();
        exit_with(ctx, value, prefix)
    }
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr(), "{prefix} {error}");
    std::process::exit(UNCAUGHT_EXIT_CODE)
}

thread_local! {
    /// Rejected promises without a handler yet.
    static UNHANDLED: RefCell<Vec<Persistent<Value<'static>>>> = const { RefCell::new(Vec::new()) };
}

/// QuickJS's host promise rejection tracker: remembers a promise rejected without handler
/// and checks it again once the pending jobs have run (a handler attached in the same turn,
/// as `f().catch(...)` does, clears it); forgets it when a handler is attached.
pub fn track_rejection<'js>(
    ctx: Ctx<'js>,
    promise: Value<'js>,
    reason: Value<'js>,
    is_handled: bool,
) {
    if is_handled {
        UNHANDLED.with(|unhandled| {
            let mut unhandled = unhandled.borrow_mut();
            unhandled.retain(|known| known.clone().restore(&ctx).ok().as_ref() != Some(&promise));
        });
        return;
    }
    UNHANDLED.with(|unhandled| {
        unhandled
            .borrow_mut()
            .push(Persistent::save(&ctx, promise.clone()))
    });
    let reason = Persistent::save(&ctx, reason);
    let task_ctx = ctx.clone();
    ctx.spawn(async move {
        // A timer, not a bare yield: rquickjs polls a self-woken task again before it runs
        // the queued jobs, and the handler often comes a job later (`return
        // Promise.reject(e)` in an async function attaches it in a PromiseResolveThenableJob).
        wasock::rt::sleep(std::time::Duration::from_millis(1)).await;
        let still = UNHANDLED.with(|unhandled| {
            unhandled
                .borrow()
                .iter()
                .any(|known| known.clone().restore(&task_ctx).ok().as_ref() == Some(&promise))
        });
        if still {
            let reason = reason
                .restore(&task_ctx)
                .unwrap_or_else(|_| Value::new_undefined(task_ctx.clone()));
            exit_with(&task_ctx, reason, "Uncaught (in promise)");
        }
    });
}
