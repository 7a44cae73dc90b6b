//! `run --instances N`: N instances of one module on the engine, sharing its port. Checked
//! with `tests/guests/instance-echo` (its answer names the instance), the `poll` template,
//! and `tests/guests/reverse-once` (a program on `wasmedge_wasi_socket`, not made by us).

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use crate::support::*;

const START_TIMEOUT: Duration = Duration::from_secs(300);
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// `run --release` of the guest crate `tests/guests/NAME` with `extra` arguments.
fn run_guest(sandbox: &Sandbox, name: &str, extra: &[&str]) -> Command {
    run_test_guest(sandbox.std_cmd(), name, extra)
}

/// One request on a new connection; the response's body.
fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_else(|| panic!("no HTTP response: {response:?}"))
}

#[test]
fn two_instances_share_one_port_0_and_both_serve_until_one_exits() {
    let sandbox = Sandbox::new();
    let mut app = {
        let _build = build_lock();
        let mut app = RunningApp::spawn(run_guest(
            &sandbox,
            "instance-echo",
            &["-v", "--instances", "2", "--port", "0"],
        ));
        app.wait_for_stderr("Listening http://", START_TIMEOUT);
        app
    };
    app.wait_for_stdout_count("listening", 2, IO_TIMEOUT);
    let address = listening_address(&app.stderr()).expect("the address run reported");
    let stderr = app.stderr();
    assert_eq!(
        stderr.matches("Listening http://").count(),
        1,
        "the shared port is reported once:\n{stderr}"
    );
    assert!(stderr.contains("2 instances of"), "{stderr}");
    assert!(
        stderr.contains("engine instances: 2"),
        "-v shows the instances:\n{stderr}"
    );

    // Many connections from as many client ports: the kernel spreads them over both.
    let answers: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..40)
            .map(|_| scope.spawn(|| get(&address, "/")))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });
    for instance in ["instance 0 served", "instance 1 served"] {
        assert!(
            answers.iter().any(|answer| answer.starts_with(instance)),
            "no answer from {instance:?} in 40: {answers:?}"
        );
    }

    // One instance exiting ends the run with its code, and the port with it.
    let _ = get(&address, "/exit/3");
    let code = app.wait_exit(IO_TIMEOUT);
    assert_eq!(code, Some(3), "{}", app.stderr());
    assert!(
        TcpStream::connect(&address).is_err(),
        "{address} still accepts after the run ended"
    );
}

#[test]
fn a_udp_server_with_two_instances_answers_every_datagram_once() {
    let sandbox = Sandbox::new();
    let port = free_port();
    let mut app = {
        let _build = build_lock();
        let mut app = RunningApp::spawn(run_guest(
            &sandbox,
            "instance-echo",
            &[
                "--instances",
                "2",
                "--env",
                "PROTO=udp",
                "--env",
                &format!("PORT={port}"),
            ],
        ));
        app.wait_for_stdout_count("bound", 2, START_TIMEOUT);
        app
    };
    let mut instances_seen = std::collections::BTreeSet::new();
    for index in 0..50 {
        // A socket per datagram: distinct source ports, so the kernel spreads them.
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let payload = format!("datagram {index}");
        client
            .send_to(payload.as_bytes(), ("127.0.0.1", port))
            .unwrap();
        let mut buffer = [0u8; 1500];
        let (length, _) = client.recv_from(&mut buffer).expect("an answer");
        let answer = String::from_utf8_lossy(&buffer[..length]).into_owned();
        let (instance, echoed) = answer.split_once(' ').expect("INSTANCE PAYLOAD");
        assert_eq!(echoed, payload);
        instances_seen.insert(instance.to_owned());
        // Exactly once: no second answer comes.
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        assert!(
            client.recv_from(&mut buffer).is_err(),
            "a second answer to {payload:?}"
        );
    }
    assert_eq!(
        instances_seen.into_iter().collect::<Vec<_>>(),
        ["0", "1"],
        "both instances answer"
    );
    assert!(app.is_running(), "{}", app.stderr());
}

#[test]
fn the_poll_template_and_a_program_not_made_by_us_serve_with_two_instances() {
    let sandbox = Sandbox::new();
    let project = new_project_in(&sandbox, &sandbox.work(), "multi", "poll");
    let port = free_port();
    let mut command = sandbox.std_cmd();
    command
        .current_dir(&project)
        .args(["run", "--release", "--instances", "2", "--port"])
        .arg(port.to_string())
        .arg("--target-dir")
        .arg(shared_target_dir());
    let mut app = {
        let _build = build_lock();
        let mut app = RunningApp::spawn(command);
        app.wait_for_stdout_count("listening on", 2, START_TIMEOUT);
        app
    };
    for index in 0..10 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let body = format!("n={index}");
        write!(
            stream,
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.ends_with(&format!("echo: {body}")), "{response}");
    }
    assert!(app.is_running(), "{}", app.stderr());
    drop(app);

    // reverse-once serves COUNT connections per instance, then that instance exits 0.
    let port = free_port();
    let mut app = {
        let _build = build_lock();
        let mut app = RunningApp::spawn(run_guest(
            &sandbox,
            "reverse-once",
            &[
                "--instances",
                "2",
                "--port",
                &port.to_string(),
                "--env",
                "COUNT=100",
            ],
        ));
        app.wait_for_stdout_count("bound", 2, START_TIMEOUT);
        app
    };
    for index in 0..10 {
        let text = format!("hello {index}");
        let reversed: String = text.chars().rev().collect();
        assert_eq!(
            send_and_read_back(&format!("127.0.0.1:{port}"), &text),
            reversed
        );
    }
    assert!(app.is_running(), "{}", app.stderr());
}

#[test]
fn instances_are_refused_on_wasmedge_and_must_be_a_count() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "one", "fn main() {}\n", "");
    let _wasmedge = sandbox.fake_wasmedge("0.17.1");
    assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["run", "--runtime", "wasmedge", "--instances", "2"],
        &[
            "error: `--runtime wasmedge` cannot run 2 instances",
            "help: drop `--runtime wasmedge`",
        ],
    );
    for bad in ["0", "two", "-1"] {
        let output = sandbox
            .cmd()
            .current_dir(&project)
            .args(["run", &format!("--instances={bad}")])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
        assert!(
            stderr_of(&output).contains("is not a number of instances"),
            "{}",
            stderr_of(&output)
        );
    }
}
