//! A guest for the engine's process behaviour, driven by its first argument. Modes that
//! check something exit 0 when it holds and 3 when it does not, printing why:
//!
//! - `exit N`: exit with code N through `proc_exit`;
//! - `trap`: execute `unreachable` in a named function; `panic`: panic (also a trap);
//! - the other ways a Rust program traps, each its own mode: `index` (an index out of
//!   bounds, a panic), `divide-by-zero` (a panic: Rust checks before it divides),
//!   `out-of-bounds` (a load beyond linear memory), `stack-overflow` (recursion until the
//!   stack in linear memory runs out, which ends in a load or store out of bounds too),
//!   `indirect-call` (a function called through a pointer of the wrong type);
//! - `env [K=V]...`: print args and environment; each K=V given must be in the environment;
//! - `dirs DIR readonly|readwrite`: `DIR/input.txt` must read `hello`, and writing
//!   `DIR/output.txt` must fail with `NOTCAPABLE`, as on WasmEdge 0.17.1 (readonly), or
//!   succeed (readwrite).

use std::env;
use std::fs;

#[inline(never)]
fn guest_function_that_traps() -> ! {
    core::arch::wasm32::unreachable()
}

#[inline(never)]
fn index_out_of_bounds(index: usize) -> u8 {
    let bytes = std::hint::black_box(vec![1u8, 2, 3]);
    bytes[index]
}

#[inline(never)]
fn divide(dividend: i32, divisor: i32) -> i32 {
    dividend / divisor
}

#[inline(never)]
fn load_beyond_memory() -> u32 {
    // wasm32's linear memory is far smaller than 4 GiB, so this address is outside it.
    let address = std::hint::black_box(u32::MAX as usize - 3);
    unsafe { core::ptr::read_volatile(address as *const u32) }
}

/// Each frame keeps 4 KiB on the stack in linear memory, so the 1 MiB stack runs out
/// after a few hundred calls, far before wasm's own call stack does.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth as u8; 4096]);
    if std::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + u64::from(frame[depth as usize % 4096])
}

#[inline(never)]
fn takes_an_argument(x: u32) -> u32 {
    x + 1
}

#[inline(never)]
fn call_through_a_mistyped_pointer() {
    let right: fn(u32) -> u32 = takes_an_argument;
    // The wasm table entry has type (i32) -> i32; calling it as () -> () traps.
    let wrong: fn() = unsafe { std::mem::transmute::<fn(u32) -> u32, fn()>(right) };
    std::hint::black_box(wrong)();
}

fn fail(why: String) -> ! {
    println!("check failed: {why}");
    std::process::exit(3);
}

fn main() {
    let args: Vec<String> = env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("exit") => {
            let code = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(0);
            std::process::exit(code);
        }
        Some("trap") => guest_function_that_traps(),
        Some("panic") => panic!("deliberate panic from the guest"),
        Some("index") => println!("{}", index_out_of_bounds(std::hint::black_box(7))),
        Some("divide-by-zero") => println!("{}", divide(std::hint::black_box(1), std::hint::black_box(0))),
        Some("out-of-bounds") => println!("{}", load_beyond_memory()),
        Some("stack-overflow") => println!("{}", recurse(std::hint::black_box(0))),
        Some("indirect-call") => call_through_a_mistyped_pointer(),
        Some("env") => {
            for (index, arg) in args.iter().enumerate() {
                println!("arg {index}={arg}");
            }
            let vars: Vec<(String, String)> = env::vars().collect();
            for (key, value) in &vars {
                println!("env {key}={value}");
            }
            for wanted in &args[2..] {
                let Some((key, value)) = wanted.split_once('=') else { fail(format!("bad expectation {wanted}")) };
                if !vars.iter().any(|(k, v)| k == key && v == value) {
                    fail(format!("{key}={value} is not in the environment"));
                }
            }
        }
        Some("dirs") => {
            let dir = args.get(2).cloned().unwrap_or_else(|| "/data".into());
            let readonly = args.get(3).map(String::as_str) == Some("readonly");
            match fs::read_to_string(format!("{dir}/input.txt")) {
                Ok(text) if text.trim() == "hello" => println!("read hello"),
                Ok(text) => fail(format!("read {text:?}")),
                Err(err) => fail(format!("read failed: {err}")),
            }
            match (fs::write(format!("{dir}/output.txt"), "written by the guest"), readonly) {
                (Ok(()), false) => println!("write ok"),
                // WasmEdge 0.17.1 refuses with NOTCAPABLE (76), preview1's rights' answer,
                // and so must the engine.
                (Err(err), true) if err.raw_os_error() == Some(76) => {
                    println!("write denied: {err}")
                }
                (Err(err), true) => fail(format!("write denied with {err}, not NOTCAPABLE (76)")),
                (Ok(()), true) => fail("wrote into a read-only directory".into()),
                (Err(err), false) => fail(format!("write failed: {err}")),
            }
        }
        other => {
            eprintln!("unknown mode {other:?}");
            std::process::exit(2);
        }
    }
}
