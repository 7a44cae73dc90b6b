//! The globals every script gets: `print`, `console.log`/`info`/`warn`/`error`,
//! `newStringFromUTF8`, `setTimeout`/`clearTimeout`, `TextEncoder`/`TextDecoder`, and a
//! small `process` (`env`, `argv`, `exit(code)`) so apps can read `PORT` as Node apps do.
//!
//! `print` and `console.log`/`info` write one line to stdout, `console.warn`/`error` to
//! stderr: the arguments formatted and joined by spaces (strings as they are, plain objects
//! and arrays as JSON, everything else as `String(value)` gives it). Timers run on wasock's
//! async runtime; a cleared timer stops keeping the script alive at once.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rquickjs::class::Trace;
use rquickjs::prelude::{Func, Opt, Rest};
use rquickjs::{
    Class, Coerced, Ctx, Exception, Function, JsLifetime, Object, Result, TypedArray, Value,
};

use crate::bytes::bytes_of;

/// Installs the globals on `ctx`.
pub fn install(ctx: &Ctx<'_>) -> Result<()> {
    let globals = ctx.globals();
    globals.set("print", Func::from(print))?;
    let console = Object::new(ctx.clone())?;
    console.set("log", Func::from(print))?;
    console.set("info", Func::from(print))?;
    console.set("warn", Func::from(eprint))?;
    console.set("error", Func::from(eprint))?;
    globals.set("console", console)?;
    globals.set("newStringFromUTF8", Func::from(new_string_from_utf8))?;
    globals.set("setTimeout", Func::from(set_timeout))?;
    globals.set("clearTimeout", Func::from(clear_timeout))?;
    let process = Object::new(ctx.clone())?;
    let env = Object::new(ctx.clone())?;
    for (key, value) in std::env::vars_os() {
        env.set(
            key.to_string_lossy().as_ref(),
            value.to_string_lossy().as_ref(),
        )?;
    }
    process.set("env", env)?;
    process.set("argv", std::env::args().collect::<Vec<_>>())?;
    process.set("exit", Func::from(exit))?;
    globals.set("process", process)?;
    Class::<TextEncoder>::define(&globals)?;
    Class::<TextDecoder>::define(&globals)?;
    Ok(())
}

/// `process.exit(code = 0)`: ends the script at once with `code` (stdout flushed).
fn exit(code: Opt<i32>) {
    let _ = std::io::stdout().flush();
    std::process::exit(code.0.unwrap_or(0))
}

/// One value as `print` shows it.
pub fn format_value<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> String {
    if let Some(text) = value.as_string() {
        return text.to_string().unwrap_or_default();
    }
    let is_plain = value.as_object().is_some_and(|object| {
        !object.is_function() && Exception::from_object(object.clone()).is_none() && {
            let is_array = value.is_array();
            let prototype = object.get_prototype();
            let object_prototype = ctx
                .globals()
                .get::<_, Object>("Object")
                .and_then(|o| o.get::<_, Object>("prototype"))
                .ok();
            is_array || prototype.is_none() || prototype == object_prototype
        }
    });
    if is_plain {
        if let Ok(Some(json)) = ctx.json_stringify(value.clone()) {
            if let Ok(json) = json.to_string() {
                return json;
            }
        }
    }
    match value.get::<Coerced<String>>() {
        Ok(text) => text.0,
        Err(_) => {
            let _ = ctx.catch();
            format!("[{}]", value.type_name())
        }
    }
}

fn line<'js>(ctx: &Ctx<'js>, values: Rest<Value<'js>>) -> String {
    let mut line = String::new();
    for (index, value) in values.0.into_iter().enumerate() {
        if index > 0 {
            line.push(' ');
        }
        line.push_str(&format_value(ctx, value));
    }
    line.push('\n');
    line
}

fn print<'js>(ctx: Ctx<'js>, values: Rest<Value<'js>>) {
    let line = line(&ctx, values);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.flush();
}

fn eprint<'js>(ctx: Ctx<'js>, values: Rest<Value<'js>>) {
    let _ = std::io::stderr().write_all(line(&ctx, values).as_bytes());
}

/// `newStringFromUTF8(bytes)`: the bytes decoded as UTF-8 (invalid sequences become
/// U+FFFD); `""` for `undefined`/`null`.
fn new_string_from_utf8<'js>(ctx: Ctx<'js>, bytes: Opt<Value<'js>>) -> Result<String> {
    match bytes.0 {
        Some(value) if !value.is_undefined() && !value.is_null() => {
            let bytes = bytes_of(&ctx, &value, "newStringFromUTF8")?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => Ok(String::new()),
    }
}

/// A timer's link between `clearTimeout` and the task waiting for it.
#[derive(Default)]
struct TimerState {
    cancelled: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

thread_local! {
    static TIMERS: RefCell<HashMap<u32, Rc<TimerState>>> = RefCell::new(HashMap::new());
    static NEXT_TIMER: Cell<u32> = const { Cell::new(1) };
}

/// Resolves `true` when `sleep` ends, `false` as soon as the timer is cleared.
struct TimerFuture {
    sleep: Pin<Box<wasock::rt::Sleep>>,
    state: Rc<TimerState>,
}

impl Future for TimerFuture {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        if self.state.cancelled.get() {
            return Poll::Ready(false);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(true);
        }
        *self.state.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// `setTimeout(callback, ms = 0, ...args)` → a timer id for `clearTimeout`.
fn set_timeout<'js>(
    ctx: Ctx<'js>,
    callback: Function<'js>,
    delay: Opt<Value<'js>>,
    args: Rest<Value<'js>>,
) -> Result<u32> {
    let ms = delay
        .0
        .and_then(|value| value.as_number())
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        .unwrap_or(0.0);
    let id = NEXT_TIMER.with(|next| {
        let id = next.get();
        next.set(id.wrapping_add(1).max(1));
        id
    });
    let state = Rc::new(TimerState::default());
    TIMERS.with(|timers| timers.borrow_mut().insert(id, state.clone()));
    let timer = TimerFuture {
        sleep: Box::pin(wasock::rt::sleep(Duration::from_secs_f64(ms / 1000.0))),
        state,
    };
    let task_ctx = ctx.clone();
    ctx.spawn(async move {
        let fired = timer.await;
        TIMERS.with(|timers| timers.borrow_mut().remove(&id));
        if fired {
            if let Err(error) = callback.call::<_, ()>((Rest(args.0),)) {
                crate::errors::exit_uncaught(&task_ctx, error, "Uncaught");
            }
        }
    });
    Ok(id)
}

/// `clearTimeout(id)`: the timer will not fire; unknown ids are ignored.
fn clear_timeout(id: Opt<Value<'_>>) {
    let Some(id) = id.0.and_then(|value| value.as_number()) else {
        return;
    };
    if let Some(state) = TIMERS.with(|timers| timers.borrow_mut().remove(&(id as u32))) {
        state.cancelled.set(true);
        if let Some(waker) = state.waker.borrow_mut().take() {
            waker.wake();
        }
    }
}

/// `TextEncoder`: strings to UTF-8 bytes.
#[derive(Trace, JsLifetime, Default)]
#[rquickjs::class]
pub struct TextEncoder {}

#[rquickjs::methods]
impl TextEncoder {
    #[qjs(constructor)]
    pub fn new() -> Self {
        TextEncoder {}
    }

    #[qjs(get)]
    pub fn encoding(&self) -> &'static str {
        "utf-8"
    }

    /// `encode(text = "")` → `Uint8Array`.
    /// Lone surrogates become U+FFFD, as the Encoding Standard's UTF-8 encode says.
    pub fn encode<'js>(
        &self,
        ctx: Ctx<'js>,
        text: Opt<Coerced<rquickjs::String<'js>>>,
    ) -> Result<TypedArray<'js, u8>> {
        let bytes = match text.0 {
            Some(text) => crate::bytes::utf8_of(&text.0)?,
            None => Vec::new(),
        };
        TypedArray::new(ctx, bytes)
    }
}

/// `TextDecoder`: UTF-8 bytes to strings (the only encoding supported).
#[derive(Trace, JsLifetime, Default)]
#[rquickjs::class]
pub struct TextDecoder {}

#[rquickjs::methods]
impl TextDecoder {
    /// `new TextDecoder(label = "utf-8")`; other labels throw a `RangeError`.
    #[qjs(constructor)]
    pub fn new<'js>(ctx: Ctx<'js>, label: Opt<String>) -> Result<Self> {
        match label.0.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("utf-8") | Some("utf8") | Some("unicode-1-1-utf-8") => Ok(TextDecoder {}),
            Some(other) => Err(Exception::throw_range(
                &ctx,
                &format!("TextDecoder: encoding `{other}` is not supported (only utf-8)"),
            )),
        }
    }

    #[qjs(get)]
    pub fn encoding(&self) -> &'static str {
        "utf-8"
    }

    /// `decode(bytes)` → string; invalid sequences become U+FFFD.
    pub fn decode<'js>(&self, ctx: Ctx<'js>, bytes: Opt<Value<'js>>) -> Result<String> {
        new_string_from_utf8(ctx, bytes)
    }
}
