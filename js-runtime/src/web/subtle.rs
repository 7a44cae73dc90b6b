//! The hashing behind `crypto.subtle` (the JavaScript side, key objects and WebCrypto's
//! errors, is in `prelude.js`): RustCrypto's `sha1`, `sha2` and `hmac`, well-kept and
//! constant-time where it matters (`Mac::verify_slice`).
//!
//! - `digest(name, bytes)` → `ArrayBuffer` of the digest (FIPS 180-4).
//! - `hmac(hash, key, data)` → `ArrayBuffer` of the tag (RFC 2104).
//! - `hmacVerify(hash, key, data, signature)` → whether `signature` is the tag, compared in
//!   constant time.
//!
//! `name`/`hash` is one of `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512` (the prelude normalizes
//! and checks it first); another name throws a `TypeError`.

use hmac::{Hmac, Mac};
use rquickjs::{ArrayBuffer, Ctx, Exception, Object, Result, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::bytes::{array_buffer, bytes_of};

/// Adds the functions above to the host object.
pub fn install(host: &Object<'_>) -> Result<()> {
    host.set("digest", rquickjs::prelude::Func::from(digest))?;
    host.set("hmac", rquickjs::prelude::Func::from(hmac))?;
    host.set("hmacVerify", rquickjs::prelude::Func::from(hmac_verify))?;
    Ok(())
}

fn unknown(ctx: &Ctx<'_>, name: &str) -> rquickjs::Error {
    Exception::throw_type(ctx, &format!("crypto.subtle: unknown hash `{name}`"))
}

fn digest<'js>(ctx: Ctx<'js>, name: String, data: Value<'js>) -> Result<ArrayBuffer<'js>> {
    let data = bytes_of(&ctx, &data, "crypto.subtle.digest")?;
    let out = match name.as_str() {
        "SHA-1" => Sha1::digest(&data).to_vec(),
        "SHA-256" => Sha256::digest(&data).to_vec(),
        "SHA-384" => Sha384::digest(&data).to_vec(),
        "SHA-512" => Sha512::digest(&data).to_vec(),
        _ => return Err(unknown(&ctx, &name)),
    };
    array_buffer(&ctx, out)
}

/// The tag of `data` under `key` with the hash `M`, or its check against `expected`.
fn mac<M: Mac + hmac::digest::KeyInit>(
    key: &[u8],
    data: &[u8],
    expected: Option<&[u8]>,
) -> (Vec<u8>, bool) {
    // HMAC takes keys of any length (RFC 2104 §2), so `new_from_slice` cannot fail here.
    let mut mac =
        <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    match expected {
        Some(expected) => (Vec::new(), mac.verify_slice(expected).is_ok()),
        None => (mac.finalize().into_bytes().to_vec(), false),
    }
}

fn run_mac(
    ctx: &Ctx<'_>,
    hash: &str,
    key: &[u8],
    data: &[u8],
    expected: Option<&[u8]>,
) -> Result<(Vec<u8>, bool)> {
    Ok(match hash {
        "SHA-1" => mac::<Hmac<Sha1>>(key, data, expected),
        "SHA-256" => mac::<Hmac<Sha256>>(key, data, expected),
        "SHA-384" => mac::<Hmac<Sha384>>(key, data, expected),
        "SHA-512" => mac::<Hmac<Sha512>>(key, data, expected),
        _ => return Err(unknown(ctx, hash)),
    })
}

fn hmac<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: Value<'js>,
    data: Value<'js>,
) -> Result<ArrayBuffer<'js>> {
    let key = bytes_of(&ctx, &key, "crypto.subtle.sign: key")?;
    let data = bytes_of(&ctx, &data, "crypto.subtle.sign")?;
    let (tag, _) = run_mac(&ctx, &hash, &key, &data, None)?;
    array_buffer(&ctx, tag)
}

fn hmac_verify<'js>(
    ctx: Ctx<'js>,
    hash: String,
    key: Value<'js>,
    data: Value<'js>,
    signature: Value<'js>,
) -> Result<bool> {
    let key = bytes_of(&ctx, &key, "crypto.subtle.verify: key")?;
    let data = bytes_of(&ctx, &data, "crypto.subtle.verify")?;
    let signature = bytes_of(&ctx, &signature, "crypto.subtle.verify: signature")?;
    Ok(run_mac(&ctx, &hash, &key, &data, Some(&signature))?.1)
}
