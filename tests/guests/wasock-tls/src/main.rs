//! `wasock-tls trusted=PORT expired=PORT untrusted=PORT wrong=PORT cut=PORT plain=PORT www=PORT`:
//! runs [`checks`] against the servers runtime-lib/tests/tls.rs started on loopback, prints
//! `ok - …` / `not ok - …` per check and exits 0 only when all pass. The same checks run
//! natively inside that test, so the module on the engine (or WasmEdge) and the native
//! build are held to the same answers.

mod checks;

use std::process::ExitCode;

fn main() -> ExitCode {
    let ports = match checks::Ports::from_args(std::env::args().skip(1)) {
        Ok(ports) => ports,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0;
    checks::run(&ports, |name, outcome| match outcome {
        Ok(()) => println!("ok - {name}"),
        Err(why) => {
            failed += 1;
            println!("not ok - {name}: {why}");
        }
    });
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
