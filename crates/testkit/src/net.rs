//! A TCP front that can cut every connection at once and refuse new ones for a while: what the
//! clients of a database see when it restarts under them, without restarting the machine's own
//! PostgreSQL (other suites use it meanwhile).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    refusing: AtomicBool,
    /// Both ends of every connection passed through, to cut them.
    open: Mutex<Vec<(TcpStream, TcpStream)>>,
}

/// Forwards connections from a loopback port to `upstream` until it is cut.
pub struct CuttableFront {
    pub port: u16,
    state: Arc<State>,
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl CuttableFront {
    pub fn start(upstream: SocketAddr) -> CuttableFront {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if shared.refusing.load(Ordering::SeqCst) {
                    // Accepted and closed at once: the server is not there.
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let (Ok(client_copy), Ok(server_copy)) = (client.try_clone(), server.try_clone())
                else {
                    continue;
                };
                if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
                    if let Ok(mut open) = shared.open.lock() {
                        open.push((c, s));
                    }
                }
                std::thread::spawn(move || pump(client, server));
                std::thread::spawn(move || pump(server_copy, client_copy));
            }
        });
        CuttableFront { port, state }
    }

    /// Cuts every connection and refuses new ones until [`CuttableFront::restore`].
    pub fn cut(&self) {
        self.state.refusing.store(true, Ordering::SeqCst);
        if let Ok(mut open) = self.state.open.lock() {
            for (client, server) in open.drain(..) {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
            }
        }
    }

    pub fn restore(&self) {
        self.state.refusing.store(false, Ordering::SeqCst);
    }
}
