//! Several instances of one guest serving the same ports (`cargo wasock run --instances N`).
//!
//! WasmEdge runs a socket app on one thread, and a guest cannot ask for `SO_REUSEPORT`
//! (WasmEdge 0.17.1's `sock_setsockopt` has no such option). The engine owns the sockets,
//! so when it runs N instances of a module in one process it binds every socket they bind
//! with `SO_REUSEPORT`: each instance binds and listens as if it were alone, and the kernel
//! spreads new connections (and UDP datagrams, each to one socket) over their sockets, as
//! nginx's and Node's cluster workers share a port.
//!
//! A bind to port 0 would give each instance a port of its own. Instead the k-th port-0
//! bind of each instance, for one address and socket type, gets the port the first instance
//! to make that bind got, so `--port 0` ends with every instance on one port. Instances
//! bind in the same order (they run the same code), which is what makes "the k-th" the
//! same socket in each.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use socket2::{SockAddr, Socket, Type};

/// The key of a port-0 bind: the address, the socket type, and which port-0 bind of that
/// address and type it is in its instance (0 for the first).
type PortKey = (IpAddr, bool, usize);

/// What the instances of one run share: the ports their port-0 binds got.
#[derive(Debug, Default)]
pub struct SharedPorts {
    ports: Mutex<HashMap<PortKey, u16>>,
}

/// One instance's view of its group's [`SharedPorts`].
#[derive(Debug)]
pub struct InstancePorts {
    shared: Arc<SharedPorts>,
    /// How many port-0 binds this instance made per address and type.
    zero_binds: Mutex<HashMap<(IpAddr, bool), usize>>,
}

impl InstancePorts {
    pub fn new(shared: Arc<SharedPorts>) -> InstancePorts {
        InstancePorts {
            shared,
            zero_binds: Mutex::new(HashMap::new()),
        }
    }

    /// Bind `socket` to `address` shared with the other instances: `SO_REUSEPORT` first,
    /// and a port-0 bind takes the port the same bind of the first instance got.
    pub fn bind(&self, socket: &Socket, address: &SockAddr) -> io::Result<()> {
        socket.set_reuse_port(true)?;
        let Some(requested) = address.as_socket().filter(|address| address.port() == 0) else {
            return socket.bind(address);
        };
        let stream = socket.r#type()? == Type::STREAM;
        let ordinal = {
            let mut counts = self
                .zero_binds
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let count = counts.entry((requested.ip(), stream)).or_insert(0);
            *count += 1;
            *count - 1
        };
        let key = (requested.ip(), stream, ordinal);
        // Held across the bind, so two instances making the same bind at once agree.
        let mut ports = self
            .shared
            .ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(port) = ports.get(&key) {
            return socket.bind(&SockAddr::from(SocketAddr::new(requested.ip(), *port)));
        }
        socket.bind(address)?;
        if let Some(bound) = socket.local_addr()?.as_socket() {
            ports.insert(key, bound.port());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, Protocol};

    fn tcp() -> Socket {
        Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap()
    }

    #[test]
    fn the_kth_port_zero_bind_of_each_instance_shares_one_port() {
        let shared = Arc::new(SharedPorts::default());
        let first = InstancePorts::new(Arc::clone(&shared));
        let second = InstancePorts::new(shared);
        let any: SockAddr = "127.0.0.2:0".parse::<SocketAddr>().unwrap().into();
        let (a1, a2, b1, b2) = (tcp(), tcp(), tcp(), tcp());
        first.bind(&a1, &any).unwrap();
        first.bind(&a2, &any).unwrap();
        second.bind(&b1, &any).unwrap();
        second.bind(&b2, &any).unwrap();
        let port = |socket: &Socket| socket.local_addr().unwrap().as_socket().unwrap().port();
        assert_eq!(port(&a1), port(&b1));
        assert_eq!(port(&a2), port(&b2));
        assert_ne!(
            port(&a1),
            port(&a2),
            "two listeners of one instance got one port"
        );
        for socket in [&a1, &a2, &b1, &b2] {
            socket.listen(8).unwrap();
        }
    }
}
