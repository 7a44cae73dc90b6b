//! The async runtime on its own: timers, wake-ups, tasks, cancellation and the async sockets,
//! on real loopback sockets.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use futures_util::{AsyncReadExt, AsyncWriteExt};
use wasock::rt::{
    self, block_on, sleep, spawn, timeout, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket,
    JoinError,
};

/// Runs `test` on its own thread and fails if it takes longer than `limit`, so that a lost
/// wake-up fails the test instead of hanging it.
fn within<T: Send + 'static>(limit: Duration, test: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(test());
    });
    receiver
        .recv_timeout(limit)
        .expect("the runtime did not finish in time (a lost wake-up?)")
}

#[test]
fn timers_fire_in_deadline_order_and_equal_deadlines_in_the_order_set() {
    let order = within(Duration::from_secs(10), || {
        block_on(async {
            let order = Rc::new(RefCell::new(Vec::new()));
            let start = Instant::now() + Duration::from_millis(20);
            let mut handles = Vec::new();
            for (name, offset) in [("a", 60), ("b", 20), ("c", 40), ("d", 20), ("e", 0)] {
                let order = order.clone();
                handles.push(spawn(async move {
                    rt::sleep_until(start + Duration::from_millis(offset)).await;
                    assert!(Instant::now() >= start + Duration::from_millis(offset));
                    order.borrow_mut().push(name);
                }));
            }
            for handle in handles {
                handle.await.unwrap();
            }
            let order = order.borrow().clone();
            order
        })
    });
    assert_eq!(order, ["e", "b", "d", "c", "a"]);
}

#[test]
fn sleep_never_completes_early_and_timeout_cuts_a_slow_future() {
    within(Duration::from_secs(10), || {
        block_on(async {
            let started = Instant::now();
            sleep(Duration::from_millis(30)).await;
            assert!(started.elapsed() >= Duration::from_millis(30));

            let started = Instant::now();
            let outcome = timeout(Duration::from_millis(30), sleep(Duration::from_secs(60))).await;
            assert!(outcome.is_err(), "a 60 s sleep finished within 30 ms");
            assert!(started.elapsed() < Duration::from_secs(5));
            let error: std::io::Error = outcome.unwrap_err().into();
            assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);

            assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Ok(7));
        })
    });
}

#[test]
fn join_handles_give_outputs_panics_and_cancellations() {
    within(Duration::from_secs(10), || {
        block_on(async {
            let nested = spawn(async { spawn(async { 21 }).await.unwrap() * 2 });
            assert_eq!(nested.await, Ok(42));

            let panicking = spawn(async {
                rt::yield_now().await;
                panic!("on purpose");
            });
            assert_eq!(
                panicking.await,
                Err(JoinError::Panicked("on purpose".into()))
            );

            let mut forever = spawn(sleep(Duration::from_secs(3600)));
            rt::yield_now().await;
            assert!(!forever.is_finished());
            forever.abort();
            assert_eq!(forever.await, Err(JoinError::Cancelled));
        })
    });
}

#[test]
fn ten_thousand_tasks_sleep_and_finish() {
    let total = within(Duration::from_secs(30), || {
        block_on(async {
            let done = Rc::new(RefCell::new(0usize));
            let handles: Vec<_> = (0..10_000u64)
                .map(|i| {
                    let done = done.clone();
                    spawn(async move {
                        sleep(Duration::from_millis(i % 50)).await;
                        rt::yield_now().await;
                        *done.borrow_mut() += 1;
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            assert_eq!(sum, (0..10_000u64).sum::<u64>());
            let total = *done.borrow();
            total
        })
    });
    assert_eq!(total, 10_000);
}

#[test]
fn echo_over_async_tcp_wakes_reader_and_writer_tasks() {
    within(Duration::from_secs(20), || {
        block_on(async {
            let listener = AsyncTcpListener::bind("127.0.0.2:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spawn(async move {
                // Serves connections until every client is done.
                let mut connections = Vec::new();
                for _ in 0..200 {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    connections.push(spawn(async move {
                        let mut buf = [0u8; 1024];
                        loop {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            stream.write_all(&buf[..n]).await.unwrap();
                        }
                    }));
                }
                for connection in connections {
                    connection.await.unwrap();
                }
            });
            let clients: Vec<_> = (0..200)
                .map(|i| {
                    spawn(async move {
                        let mut stream = AsyncTcpStream::connect(addr).await.unwrap();
                        let message = format!("hello {i} ").repeat(500);
                        let (mut reader, mut writer) = (&stream, &stream);
                        let send = async {
                            writer.write_all(message.as_bytes()).await.unwrap();
                        };
                        let mut echoed = vec![0u8; message.len()];
                        let receive = async { reader.read_exact(&mut echoed).await.unwrap() };
                        futures_util::future::join(send, receive).await;
                        assert_eq!(echoed, message.as_bytes());
                        stream.close().await.unwrap();
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            server.await.unwrap();
        })
    });
}

#[test]
fn aborting_a_task_closes_the_socket_it_owned() {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 16];
        // EOF (not a timeout) proves the task's socket was closed.
        stream.read(&mut buf).unwrap()
    });
    within(Duration::from_secs(20), move || {
        block_on(async move {
            let mut task = spawn(async move {
                let mut stream = AsyncTcpStream::connect(addr).await.unwrap();
                let mut buf = [0u8; 16];
                // Waits forever: the peer never writes.
                let _ = stream.read(&mut buf).await;
                unreachable!("the peer sent nothing");
            });
            sleep(Duration::from_millis(100)).await;
            task.abort();
            assert_eq!(task.await, Err(JoinError::Cancelled));
            sleep(Duration::from_millis(10)).await;
        })
    });
    assert_eq!(peer.join().unwrap(), 0, "the peer saw data instead of EOF");
}

#[test]
fn returning_from_block_on_drops_detached_tasks_and_their_sockets() {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let async_listener_addr = within(Duration::from_secs(20), move || {
        block_on(async move {
            let async_listener = AsyncTcpListener::bind("127.0.0.2:0").unwrap();
            let own_addr = async_listener.local_addr().unwrap();
            // Detached: the handle is dropped at once.
            spawn(async move {
                let _stream = AsyncTcpStream::connect(addr).await.unwrap();
                let _ = async_listener.accept().await;
            });
            sleep(Duration::from_millis(100)).await;
            own_addr
        })
    });
    let (mut stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(stream.read(&mut [0u8; 8]).unwrap(), 0);
    let refused = std::net::TcpStream::connect(async_listener_addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn connect_reports_refusal_and_reads_time_out() {
    within(Duration::from_secs(20), || {
        block_on(async {
            // A port that was just free: nobody listens there.
            let free = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
            let addr = free.local_addr().unwrap();
            drop(free);
            let refused = AsyncTcpStream::connect(addr).await.unwrap_err();
            assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

            let silent = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
            let mut stream = AsyncTcpStream::connect_timeout(
                silent.local_addr().unwrap(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
            let mut buf = [0u8; 4];
            let outcome = timeout(Duration::from_millis(50), stream.read(&mut buf)).await;
            assert!(
                outcome.is_err(),
                "read returned {outcome:?} from a silent peer"
            );
        })
    });
}

#[test]
fn udp_round_trip() {
    within(Duration::from_secs(10), || {
        block_on(async {
            let a = AsyncUdpSocket::bind("127.0.0.2:0").unwrap();
            let b = AsyncUdpSocket::bind("127.0.0.2:0").unwrap();
            let b_addr = b.local_addr().unwrap();
            let echo = spawn(async move {
                let mut buf = [0u8; 64];
                let (n, from) = b.recv_from(&mut buf).await.unwrap();
                b.send_to(&buf[..n], from).await.unwrap();
            });
            // Sent after the receiver waits, so the receive really waits for the datagram.
            sleep(Duration::from_millis(20)).await;
            a.send_to(b"ping", b_addr).await.unwrap();
            let mut buf = [0u8; 64];
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            assert_eq!(from, b_addr);
            echo.await.unwrap();
        })
    });
}

/// A one-shot value set from another thread.
#[derive(Default)]
struct Slot {
    value: Option<u32>,
    waker: Option<Waker>,
}

#[test]
fn a_waker_woken_on_another_thread_ends_the_wait() {
    let value = within(Duration::from_secs(10), || {
        block_on(async {
            let slot = Arc::new(Mutex::new(Slot::default()));
            let remote = slot.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                let mut slot = remote.lock().unwrap();
                slot.value = Some(5);
                if let Some(waker) = slot.waker.take() {
                    waker.wake();
                }
            });
            std::future::poll_fn(|cx| {
                let mut slot = slot.lock().unwrap();
                match slot.value {
                    Some(value) => Poll::Ready(value),
                    None => {
                        slot.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            })
            .await
        })
    });
    assert_eq!(value, 5);
}

#[test]
fn a_partly_read_socket_does_not_stop_other_tasks() {
    // The reader takes one byte and then sleeps: the level-triggered loop keeps reporting
    // the socket, and the reactor must drop that interest rather than spin or stall.
    within(Duration::from_secs(20), || {
        block_on(async {
            let listener = AsyncTcpListener::bind("127.0.0.2:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let writer = spawn(async move {
                let mut stream = AsyncTcpStream::connect(addr).await.unwrap();
                stream.write_all(&[7u8; 1000]).await.unwrap();
                sleep(Duration::from_secs(1)).await;
            });
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut one = [0u8; 1];
            stream.read_exact(&mut one).await.unwrap();
            let ticks = spawn(async {
                let mut ticks = 0;
                for _ in 0..10 {
                    sleep(Duration::from_millis(10)).await;
                    ticks += 1;
                }
                ticks
            });
            assert_eq!(ticks.await, Ok(10));
            let mut rest = vec![0u8; 999];
            stream.read_exact(&mut rest).await.unwrap();
            assert!(rest.iter().all(|&b| b == 7));
            writer.await.unwrap();
        })
    });
}

#[test]
fn sockets_made_outside_block_on_work_inside() {
    let listener = AsyncTcpListener::bind("127.0.0.2:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(b"hi").unwrap();
    });
    let got = within(Duration::from_secs(10), move || {
        block_on(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 2];
            stream.read_exact(&mut buf).await.unwrap();
            buf
        })
    });
    client.join().unwrap();
    assert_eq!(&got, b"hi");
}
