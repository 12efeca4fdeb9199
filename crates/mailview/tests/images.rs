//! "Show images": the server fetches the remote images a message names, and only what is safe.

use testkit::http::{image_routes, HttpServer};

fn newsletter(base: &str) -> Vec<u8> {
    format!(
        "Subject: Offers\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <p>Hello <img src=\"{base}/pixel.png\" alt=logo> <img src=\"{base}/pixel.png\">\
         <img src=\"{base}/huge.png\"><img src=\"{base}/page.html\"><img src=\"{base}/logo.svg\">\
         <img src=\"{base}/missing.png\"></p>"
    )
    .into_bytes()
}

#[tokio::test]
async fn images_are_fetched_only_when_asked_and_only_when_safe() {
    let server = HttpServer::start(image_routes());
    let raw = newsletter(&server.base);

    // Blocked by default: listed, counted, nothing fetched.
    let blocked = mailview::render(&raw).expect("render");
    assert_eq!(blocked.remote_images_blocked, 6);
    assert_eq!(blocked.remote_images.len(), 5, "each address once");
    assert!(!blocked
        .html
        .as_deref()
        .unwrap_or_default()
        .contains(&server.base));
    assert_eq!(server.hits(), 0);

    // Asked for: the image arrives as data, everything unsafe stays out.
    let fetcher = mailview::ImageFetcher::new(true).expect("fetcher");
    let shown = fetcher.fetch_all(&blocked.remote_images).await;
    assert_eq!(
        shown.len(),
        1,
        "only the real, small, raster image: {shown:?}"
    );
    let view = mailview::render_with_images(&raw, &shown).expect("render");
    let html = view.html.expect("html");
    assert_eq!(
        html.matches("src=\"data:image/png;base64,iVBOR").count(),
        2,
        "{html}"
    );
    assert!(!html.contains(&server.base), "{html}");
    assert!(!html.contains("svg"), "{html}");
    assert_eq!(view.remote_images_blocked, 4);
    assert_eq!(
        server.leaks(),
        0,
        "a cookie, referrer or credential was sent"
    );
}

#[tokio::test]
async fn private_networks_are_refused_unless_allowed() {
    let server = HttpServer::start(image_routes());
    let fetcher = mailview::ImageFetcher::new(false).expect("fetcher");
    for address in [
        format!("{}/pixel.png", server.base),
        "http://localhost:9/pixel.png".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]:9/x.png".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        assert!(
            fetcher.fetch(&address).await.is_err(),
            "{address} was fetched"
        );
    }
    assert_eq!(server.hits(), 0, "the loopback server was reached");
}
