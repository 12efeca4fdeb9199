//! Remote images, loaded by the server only when the reader asks for them ("Show images").
//!
//! The browser never contacts the sender: the server fetches each image the message names
//! (only those, never a URL from the request), with no cookies, no `Referer`, no credentials,
//! a size limit per image, a time limit for all, and only from public addresses: a message must
//! not make the archive probe the network it sits in (SSRF). What arrives goes into the body as a
//! `data:` URL, so the frame's policy still forbids every load.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{redirect, Client, Url};

/// Images larger than this stay blocked.
pub const MAX_IMAGE_BYTES: usize = 3 * 1024 * 1024;
/// At most this many images of one message are fetched; the rest stay blocked.
pub const MAX_IMAGES: usize = 40;
/// All images of one message must arrive within this time.
const TIME_LIMIT: Duration = Duration::from_secs(10);
const PARALLEL: usize = 6;

/// Image types a browser shows without running anything (no SVG: it is a document).
const IMAGE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/jpg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/bmp",
    "image/x-icon",
    "image/vnd.microsoft.icon",
];

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("not an http(s) address")]
    Scheme,
    #[error("{0} is not a public address")]
    Private(IpAddr),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("not an image ({0})")]
    NotAnImage(String),
    #[error("larger than {MAX_IMAGE_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
}

/// Fetches a message's remote images for the reader.
#[derive(Clone)]
pub struct ImageFetcher {
    client: Client,
    allow_private: bool,
}

impl ImageFetcher {
    /// `allow_private` lets images come from loopback and private networks: for tests and for
    /// archives whose mail links to an intranet on purpose, never the default.
    pub fn new(allow_private: bool) -> Result<Self, ImageError> {
        let client = Client::builder()
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .redirect(redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 3 {
                    attempt.error("too many redirects")
                } else if literal_refused(attempt.url(), allow_private) {
                    attempt.error("redirect to a private address")
                } else {
                    attempt.follow()
                }
            }))
            .referer(false)
            .connect_timeout(Duration::from_secs(5))
            .timeout(TIME_LIMIT)
            .user_agent("Mozilla/5.0 (compatible; image loader)")
            .build()?;
        Ok(ImageFetcher {
            client,
            allow_private,
        })
    }

    /// The images that arrived, as `data:` URLs by the address the message gave. An image that
    /// fails stays blocked; the others are shown.
    pub async fn fetch_all(&self, urls: &[String]) -> HashMap<String, String> {
        use futures::StreamExt;
        let wanted: Vec<String> = urls.iter().take(MAX_IMAGES).cloned().collect();
        let fetches = futures::stream::iter(wanted)
            .map(|url| async move {
                let result = self.fetch(&url).await;
                if let Err(e) = &result {
                    tracing::debug!(%url, error = %e, "remote image not shown");
                }
                (url, result)
            })
            .buffer_unordered(PARALLEL)
            .collect::<Vec<_>>();
        let done = tokio::time::timeout(TIME_LIMIT, fetches)
            .await
            .unwrap_or_default();
        done.into_iter()
            .filter_map(|(url, result)| result.ok().map(|data| (url, data)))
            .collect()
    }

    /// One image as a `data:` URL.
    pub async fn fetch(&self, address: &str) -> Result<String, ImageError> {
        let url = Url::parse(address).map_err(|_| ImageError::Scheme)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ImageError::Scheme);
        }
        if let Some(ip) = literal_ip(&url) {
            if !self.allow_private && !is_public(ip) {
                return Err(ImageError::Private(ip));
            }
        }
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "image/*")
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(ImageError::Status(response.status().as_u16()));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if !IMAGE_TYPES.contains(&content_type.as_str()) {
            return Err(ImageError::NotAnImage(content_type));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_IMAGE_BYTES as u64)
        {
            return Err(ImageError::TooLarge);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                return Err(ImageError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
        Ok(format!("data:{content_type};base64,{data}"))
    }
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

fn literal_refused(url: &Url, allow_private: bool) -> bool {
    !matches!(url.scheme(), "http" | "https")
        || literal_ip(url).is_some_and(|ip| !allow_private && !is_public(ip))
}

/// Resolves names as usual, then keeps only public addresses: a name that points inside the
/// network fails like a name that does not exist.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// True for an address on the public internet: not loopback, private, link-local, shared,
/// documentation, multicast or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = private.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
            assert!(!is_public(ip), "{private} counted as public");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            let ip: IpAddr = public.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
            assert!(is_public(ip), "{public} counted as private");
        }
    }
}
