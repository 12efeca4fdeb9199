//! A small HTTP server on loopback for tests that make the portal fetch something (remote images
//! in mail): fixed answers by path, and a count of the requests it got.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A 24x24 blue PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x18, 0x08, 0x02, 0x00, 0x00, 0x00, 0x6f, 0x15, 0xaa,
    0xaf, 0x00, 0x00, 0x00, 0x1f, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x90, 0x2a, 0x7e, 0x41,
    0x15, 0xc4, 0x30, 0x6a, 0xd0, 0xa8, 0x41, 0xa3, 0x06, 0x8d, 0x1a, 0x34, 0x6a, 0xd0, 0xa8, 0x41,
    0x03, 0x6f, 0x10, 0x00, 0xae, 0x82, 0x47, 0x6e, 0x6d, 0x96, 0xd3, 0x8c, 0x00, 0x00, 0x00, 0x00,
    0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// One answer: a path, its content type and its body.
pub struct Route {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

pub struct HttpServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    hits: Arc<AtomicUsize>,
    /// Every request's `Cookie`, `Referer` and `Authorization` headers, to check none was sent.
    leaks: Arc<AtomicUsize>,
}

impl HttpServer {
    /// Starts serving `routes` (404 for anything else) on a free loopback port, until the
    /// process ends.
    pub fn start(routes: Vec<Route>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let hits = Arc::new(AtomicUsize::new(0));
        let leaks = Arc::new(AtomicUsize::new(0));
        let routes = Arc::new(routes);
        let (counter, leaked) = (Arc::clone(&hits), Arc::clone(&leaks));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, counter, leaked) = (
                    Arc::clone(&routes),
                    Arc::clone(&counter),
                    Arc::clone(&leaked),
                );
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if ["\r\ncookie:", "\r\nreferer:", "\r\nauthorization:"]
                        .iter()
                        .any(|h| text.contains(h))
                    {
                        leaked.fetch_add(1, Ordering::SeqCst);
                    }
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let response = match routes.iter().find(|r| r.path == path) {
                        Some(route) => {
                            let mut head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                route.content_type,
                                route.body.len()
                            )
                            .into_bytes();
                            head.extend_from_slice(&route.body);
                            head
                        }
                        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec(),
                    };
                    let _ = stream.write_all(&response);
                });
            }
        });
        HttpServer { base, hits, leaks }
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Requests that carried a cookie, a referrer or credentials.
    pub fn leaks(&self) -> usize {
        self.leaks.load(Ordering::SeqCst)
    }
}

/// The routes a mail with remote images uses in tests: an image, one too large, a page that is
/// not an image, an SVG.
pub fn image_routes() -> Vec<Route> {
    vec![
        Route {
            path: "/pixel.png",
            content_type: "image/png",
            body: PNG.to_vec(),
        },
        Route {
            path: "/huge.png",
            content_type: "image/png",
            body: vec![0u8; 4 * 1024 * 1024],
        },
        Route {
            path: "/page.html",
            content_type: "text/html",
            body: b"<p>not an image</p>".to_vec(),
        },
        Route {
            path: "/logo.svg",
            content_type: "image/svg+xml",
            body: b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
                .to_vec(),
        },
    ]
}
