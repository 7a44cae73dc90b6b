//! The poll server runs out of file descriptors while peers keep connecting (EMFILE on
//! accept), logs it, backs off, and serves again once descriptors are free.
//!
//! Its own test binary (= its own process), because it lowers the process's descriptor
//! limit. The connecting peers live in a child process (this binary re-run as a helper), so
//! only the server side feels the limit.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{post_request, Kind, ResponseReader, Running};

const HOLD_ENV: &str = "WASOCK_TEST_HOLD_CONNECTIONS_TO";

/// Helper mode: when run with `HOLD_ENV=addr`, opens 60 connections, holds them, exits.
#[test]
fn helper_hold_connections() {
    let Ok(addr) = std::env::var(HOLD_ENV) else {
        return;
    };
    // The parent lowers its limit right after starting us; connect after that.
    std::thread::sleep(Duration::from_millis(300));
    let held: Vec<TcpStream> = (0..60)
        .filter_map(|_| TcpStream::connect(addr.as_str()).ok())
        .collect();
    assert!(held.len() >= 50, "only {} connections opened", held.len());
    std::thread::sleep(Duration::from_millis(1500));
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| dir.count() as u64)
        .unwrap_or(64)
}

fn set_fd_limit(soft: u64) -> u64 {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        let previous = limit.rlim_cur;
        limit.rlim_cur = soft.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        previous
    }
}

#[test]
#[cfg(target_os = "linux")]
fn poll_server_survives_running_out_of_descriptors() {
    if std::env::var(HOLD_ENV).is_ok() {
        return;
    }
    let server = Running::start(Kind::Poll);
    // Started before the limit drops, since children inherit it.
    let helper = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "helper_hold_connections",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD_ENV, server.addr.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the helper");
    // Room for ten accepted connections, then accept fails with EMFILE.
    let previous = set_fd_limit(open_fds() + 10);
    let status = helper.wait_with_output().map(|output| output.status);
    // Give the server time to see the helper's connections close and free descriptors.
    std::thread::sleep(Duration::from_millis(500));
    set_fd_limit(previous);
    assert!(status.expect("run the helper").success(), "helper failed");

    // The server is still accepting and answering.
    for i in 0..5 {
        let mut stream = server.connect();
        stream
            .write_all(&post_request("/", format!("after {i}").as_bytes()))
            .expect("send");
        let mut reader = ResponseReader::new(stream);
        let response = reader.next().expect("read").expect("response");
        assert_eq!(response.body, format!("echo: after {i}").into_bytes());
    }
    server.stop().expect("server ran until shut down");
}
