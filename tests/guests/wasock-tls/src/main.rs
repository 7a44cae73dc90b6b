//! `wasock-tls trusted=PORT expired=PORT untrusted=PORT wrong=PORT cut=PORT plain=PORT www=PORT`:
//! runs [`checks`] against the servers runtime-lib/tests/tls.rs started on loopback, prints
//! `ok - …` / `not ok - …` per check and exits 0 only when all pass. The same checks run
//! natively inside that test, so the module on the engine (or WasmEdge) and the native
//! build are held to the same answers.
//!
//! `wasock-tls bench URL REQUESTS CONNECTIONS` instead measures, for scripts/bench-tls.sh:
//! the first request (a full handshake), CONNECTIONS requests on new connections (resumed
//! handshakes, `Connection: close`), REQUESTS keep-alive requests on one connection, and
//! 5 downloads of 1 MiB; it prints `name=value` pairs.

mod checks;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bench") {
        return match bench(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
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

fn bench(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [url, requests, connections] = args else {
        return Err("usage: wasock-tls bench URL REQUESTS CONNECTIONS".into());
    };
    let url = url.trim_end_matches('/');
    let (requests, connections): (u32, u32) = (requests.parse()?, connections.parse()?);
    let client = wasock::Client::default();
    let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;

    let started = Instant::now();
    client.get(&format!("{url}/hello"))?;
    println!("first_request_ms={:.2}", ms(started));

    let started = Instant::now();
    for _ in 0..connections {
        client.get(&format!("{url}/hello"))?;
    }
    println!(
        "new_connections_per_s={:.0}",
        connections as f64 / started.elapsed().as_secs_f64()
    );

    wasock::block_on(async {
        let hello = format!("{url}/hello");
        client.get_async(&hello).await?; // the connection the rest reuse
        let started = Instant::now();
        for _ in 0..requests {
            client.get_async(&hello).await?;
        }
        println!(
            "keepalive_requests_per_s={:.0}",
            requests as f64 / started.elapsed().as_secs_f64()
        );
        let big = format!("{url}/big?{}", 1 << 20);
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let response = client.get_async(&big).await?;
            if response.body().len() != 1 << 20 {
                return Err("short download".into());
            }
            times.push(ms(started));
        }
        times.sort_by(f64::total_cmp);
        println!("mib_download_ms={:.1}", times[2]);
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
