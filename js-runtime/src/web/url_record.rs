//! The WHATWG URL record behind the prelude's `URL` class: a parsed [`Url`] kept on the host,
//! so that `new URL(text).pathname` makes one JS string (the one asked for), where returning
//! all eleven components made eleven; a new string costs QuickJS about 1,300 instructions.
//! Setters change the record in place instead of parsing its href again.
//!
//! Components are numbered in the prelude's `URL_PARTS` order: href, origin, protocol,
//! username, password, host, hostname, port, pathname, search, hash. Their values and the
//! setters' rules are the `url` crate's `quirks` module, which implements the URL
//! Standard's API.

use rquickjs::class::Trace;
use rquickjs::prelude::Opt;
use rquickjs::{Class, Ctx, JsLifetime, Result};
use url::{quirks, Url};

/// A parsed URL (`host.urlRecord(input, base?)`).
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "UrlRecord")]
pub struct UrlRecord {
    #[qjs(skip_trace)]
    url: Url,
}

#[rquickjs::methods]
impl UrlRecord {
    /// Component `index` (0 to 10, `URL_PARTS`' order); `""` beyond.
    pub fn get(&self, index: u32) -> String {
        component(&self.url, index)
    }

    /// Applies the URL Standard's setter for `part` (`URL_PARTS`' names but `origin`). A value
    /// a setter cannot apply is ignored, as specified; only an invalid `href` gives `false`.
    pub fn set(&mut self, part: String, value: String) -> bool {
        set(&mut self.url, &part, &value)
    }
}

/// `urlRecord(input, base?)`: `input` parsed against `base`, or `null` when either is not a
/// valid URL.
pub fn url_record<'js>(
    ctx: Ctx<'js>,
    input: String,
    base: Opt<String>,
) -> Result<Option<Class<'js, UrlRecord>>> {
    match parse(&input, base.0.as_deref()) {
        Some(url) => Class::instance(ctx, UrlRecord { url }).map(Some),
        None => Ok(None),
    }
}

/// `input` parsed, against `base` when given.
fn parse(input: &str, base: Option<&str>) -> Option<Url> {
    match base {
        Some(base) => Url::parse(base).ok()?.join(input).ok(),
        None => Url::parse(input).ok(),
    }
}

/// Component `index` of `url`, `URL_PARTS`' order.
fn component(url: &Url, index: u32) -> String {
    match index {
        0 => quirks::href(url).to_string(),
        1 => quirks::origin(url),
        2 => quirks::protocol(url).to_string(),
        3 => quirks::username(url).to_string(),
        4 => quirks::password(url).to_string(),
        5 => quirks::host(url).to_string(),
        6 => quirks::hostname(url).to_string(),
        7 => quirks::port(url).to_string(),
        8 => quirks::pathname(url).to_string(),
        9 => quirks::search(url).to_string(),
        10 => quirks::hash(url).to_string(),
        _ => String::new(),
    }
}

/// The setter for `part` applied to `url`; `false` only for an invalid `href`.
fn set(url: &mut Url, part: &str, value: &str) -> bool {
    // WHATWG's setters ignore values they cannot apply (an `Err(())` here); only `href` fails.
    match part {
        "href" => return quirks::set_href(url, value).is_ok(),
        "protocol" => {
            let _ = quirks::set_protocol(url, value);
        }
        "username" => {
            let _ = quirks::set_username(url, value);
        }
        "password" => {
            let _ = quirks::set_password(url, value);
        }
        "host" => {
            let _ = quirks::set_host(url, value);
        }
        "hostname" => {
            let _ = quirks::set_hostname(url, value);
        }
        "port" => {
            let _ = quirks::set_port(url, value);
        }
        "pathname" => quirks::set_pathname(url, value),
        "search" => quirks::set_search(url, value),
        "hash" => quirks::set_hash(url, value),
        _ => return false,
    }
    true
}
