//! A guest for the engine's process behaviour, driven by its first argument. Modes that
//! check something exit 0 when it holds and 3 when it does not, printing why:
//!
//! - `exit N`: exit with code N through `proc_exit`;
//! - `trap`: execute `unreachable` in a named function; `panic`: panic (also a trap);
//! - `env [K=V]...`: print args and environment; each K=V given must be in the environment;
//! - `dirs DIR readonly|readwrite`: `DIR/input.txt` must read `hello`, and writing
//!   `DIR/output.txt` must fail (readonly) or succeed (readwrite).

use std::env;
use std::fs;

#[inline(never)]
fn guest_function_that_traps() -> ! {
    core::arch::wasm32::unreachable()
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
                (Err(err), true) => println!("write denied: {err}"),
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
