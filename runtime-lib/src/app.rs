//! What an app's `main` needs around its sockets: the port from `PORT`, the one line that
//! says where it listens, and errors reported as one human line with a non-zero exit.
//!
//! ```no_run
//! use std::process::ExitCode;
//! use wasock::prelude::*;
//!
//! const DEFAULT_PORT: u16 = 8080;
//!
//! fn main() -> ExitCode {
//!     wasock::exit_code(serve())
//! }
//!
//! fn serve() -> std::io::Result<()> {
//!     let port = wasock::port_from_env(DEFAULT_PORT)?;
//!     let server = PollServer::bind(("0.0.0.0", port), ServerConfig::default())?;
//!     announce(server.local_addr()?)?; // listening on http://127.0.0.1:8080/
//!     server.run(|request: Request<Vec<u8>>| Response::new(request.into_body()))
//! }
//! ```

use std::error::Error;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

/// The environment variable that selects an app's port.
pub const PORT_VAR: &str = "PORT";

/// `PORT` is set but is not a port number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{PORT_VAR} must be a number from 0 to 65535, got `{value}`")]
pub struct PortError {
    /// The value as found (lossily decoded when it was not UTF-8).
    pub value: String,
}

impl From<PortError> for io::Error {
    fn from(error: PortError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, error)
    }
}

/// The port named by the `PORT` environment variable, or `default` when it is not set.
///
/// Surrounding whitespace is ignored; `0` asks the system for a free port. A value that is
/// not a number from 0 to 65535 (an empty one included) is a [`PortError`], which converts
/// into an `io::Error` of kind `InvalidInput` for `?`.
pub fn port_from_env(default: u16) -> Result<u16, PortError> {
    port_from(std::env::var_os(PORT_VAR).as_deref(), default)
}

fn port_from(value: Option<&std::ffi::OsStr>, default: u16) -> Result<u16, PortError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let value = value.to_string_lossy();
    value.trim().parse().map_err(|_| PortError {
        value: value.into_owned(),
    })
}

/// The URL a person can open for a server bound to `addr`: a wildcard address (`0.0.0.0`,
/// `::`) becomes loopback (`127.0.0.1`, `[::1]`), since the wildcard is not an address one
/// can connect to; any other address is kept. Always ends in `/`.
pub fn local_url(addr: SocketAddr) -> String {
    scheme_url("http", addr)
}

/// [`local_url`] with another scheme (`https`).
pub(crate) fn scheme_url(scheme: &str, addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("{scheme}://{}/", SocketAddr::new(ip, addr.port()))
}

/// Prints the one line that tells people and tools where the server listens, on stdout:
/// `listening on URL` with the URL of [`local_url`], e.g. `listening on
/// http://127.0.0.1:8080/` for a server bound to `0.0.0.0:8080`.
///
/// Tools find the port as the digits between the last `:` and the final `/`.
/// A server that serves TLS announces itself with `https://`: see
/// [`PollServer::announce`](crate::PollServer::announce).
pub fn announce(addr: SocketAddr) -> io::Result<()> {
    announce_scheme("http", addr)
}

/// [`announce`] for a server that serves TLS: `listening on https://127.0.0.1:8443/`.
/// (`PollServer::announce` picks the scheme itself; this is for servers of your own, such
/// as hyper's.)
pub fn announce_tls(addr: SocketAddr) -> io::Result<()> {
    announce_scheme("https", addr)
}

/// [`announce`] with the URL's scheme.
pub(crate) fn announce_scheme(scheme: &str, addr: SocketAddr) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {}", scheme_url(scheme, addr))?;
    stdout.flush()
}

/// `main`'s exit code for its outcome: success is 0; an error is printed on stderr as one
/// line, `error: MESSAGE`, and gives 1.
///
/// The message is the error's `Display` followed by its sources that it does not already
/// include, joined with `: ` (never the `Debug` form `fn main() -> Result` would print).
/// A port already in use also gets a `help:` line.
pub fn exit_code<E: Into<Box<dyn Error>>>(outcome: Result<(), E>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let error = error.into();
            let mut stderr = io::stderr().lock();
            let _ = writeln!(stderr, "error: {}", one_line(&*error));
            if let Some(help) = help_for(&*error) {
                let _ = writeln!(stderr, "help: {help}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The error and the sources its text does not already contain, on one line.
fn one_line(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

fn help_for(error: &(dyn Error + 'static)) -> Option<&'static str> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io_error) = error.downcast_ref::<io::Error>() {
            if io_error.kind() == io::ErrorKind::AddrInUse {
                return Some(
                    "stop the program that uses it, or choose another port with PORT=N \
                     (PORT=0 lets the system pick a free one)",
                );
            }
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_comes_from_the_value_or_the_default() {
        use std::ffi::OsStr;
        assert_eq!(port_from(None, 8080), Ok(8080));
        assert_eq!(port_from(Some(OsStr::new("0")), 8080), Ok(0));
        assert_eq!(port_from(Some(OsStr::new(" 9000\n")), 8080), Ok(9000));
        for bad in ["", "http", "70000", "-1", "80 80"] {
            let error = port_from(Some(OsStr::new(bad)), 8080).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("PORT must be a number from 0 to 65535, got `{bad}`")
            );
            assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn wildcard_binds_announce_a_loopback_url() {
        assert_eq!(
            local_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            local_url("[::]:8080".parse().unwrap()),
            "http://[::1]:8080/"
        );
        assert_eq!(
            local_url("127.0.0.2:1234".parse().unwrap()),
            "http://127.0.0.2:1234/"
        );
        assert_eq!(
            local_url("[fd00::1]:80".parse().unwrap()),
            "http://[fd00::1]:80/"
        );
    }

    #[test]
    fn errors_are_one_line_with_their_sources() {
        #[derive(Debug, thiserror::Error)]
        #[error("could not serve")]
        struct Outer(#[source] io::Error);
        let error = Outer(io::Error::other("disk on fire"));
        assert_eq!(one_line(&error), "could not serve: disk on fire");
        // A source already in the message is not repeated.
        let error = io::Error::new(io::ErrorKind::InvalidInput, PortError { value: "x".into() });
        assert_eq!(
            one_line(&error),
            "PORT must be a number from 0 to 65535, got `x`"
        );
    }

    #[test]
    fn a_port_in_use_gets_help() {
        let in_use = io::Error::new(io::ErrorKind::AddrInUse, "port 8080 is already in use");
        assert!(help_for(&in_use).unwrap().contains("PORT="));
        assert!(help_for(&io::Error::other("other")).is_none());
    }
}
