//! The socket Kiln serves on.

use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

/// A listener whose connections send without delay.
pub type Listener = TapIo<TcpListener, fn(&mut TcpStream)>;

/// Listens on `address`; each connection it accepts has `TCP_NODELAY` set, as nginx sets it
/// on keep-alive connections: the last, partial segment of an answer leaves at once instead
/// of waiting for the client to acknowledge the segments before it (a round trip per
/// answer, and up to the client's delayed-ACK timeout).
pub async fn bind(address: impl tokio::net::ToSocketAddrs) -> std::io::Result<Listener> {
    Ok(TcpListener::bind(address)
        .await?
        .tap_io(no_delay as fn(&mut TcpStream)))
}

fn no_delay(connection: &mut TcpStream) {
    if let Err(e) = connection.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY could not be set");
    }
}
