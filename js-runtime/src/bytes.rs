//! Bytes between JavaScript and Rust: what `write`, `append`, `body` and `TextDecoder`
//! accept (a string as UTF-8, an `ArrayBuffer`, any typed array or `DataView`, a
//! `wasi_http.Buffer`) and the `ArrayBuffer`s they hand back.

use rquickjs::{ArrayBuffer, Class, Ctx, Exception, Object, Result, Value};

use crate::wasi_http::Buffer;

/// The bytes of `value`, copied out of the JS heap.
///
/// Errors: a `TypeError` naming `what` (the operation) for any other kind of value, and for
/// a detached buffer.
pub fn bytes_of<'js>(ctx: &Ctx<'js>, value: &Value<'js>, what: &str) -> Result<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return utf8_of(text);
    }
    if let Some(object) = value.as_object() {
        if let Some(buffer) = ArrayBuffer::from_object(object.clone()) {
            // SAFETY: the slice is copied before any JavaScript runs again.
            return match unsafe { buffer.as_bytes() } {
                Some(bytes) => Ok(bytes.to_vec()),
                None => Err(Exception::throw_type(
                    ctx,
                    &format!("{what}: the ArrayBuffer is detached"),
                )),
            };
        }
        if let Some(buffer) = Class::<Buffer>::from_object(object) {
            return Ok(buffer.borrow().pending().to_vec());
        }
        if let Some(view) = array_buffer_view(object)? {
            return Ok(view);
        }
    }
    Err(Exception::throw_type(
        ctx,
        &format!(
            "{what}: expected a string, ArrayBuffer or typed array, got {}",
            value.type_name()
        ),
    ))
}

/// `text` in UTF-8, each lone surrogate as U+FFFD (the WHATWG Encoding Standard's UTF-8
/// encode, what `TextEncoder` and `Buffer.from` give): QuickJS writes a lone surrogate as its
/// own 3-byte sequence (`ED A0..BF ..`, never valid UTF-8), which is swapped in place for
/// U+FFFD's 3 bytes (`EF BF BD`).
pub fn utf8_of(text: &rquickjs::String<'_>) -> Result<Vec<u8>> {
    let text = text.clone().to_cstring()?;
    // SAFETY: `as_ptr` points at `len` bytes that live as long as `text`.
    let mut bytes =
        unsafe { std::slice::from_raw_parts(text.as_ptr().cast::<u8>(), text.len()) }.to_vec();
    let mut at = 0;
    while at + 2 < bytes.len() {
        if bytes[at] == 0xED && bytes[at + 1] >= 0xA0 {
            bytes[at..at + 3].copy_from_slice(&[0xEF, 0xBF, 0xBD]);
            at += 3;
        } else {
            at += 1;
        }
    }
    Ok(bytes)
}

/// A typed array's or `DataView`'s bytes: the `byteLength` bytes from `byteOffset` of its
/// `buffer`.
fn array_buffer_view(object: &Object<'_>) -> Result<Option<Vec<u8>>> {
    let Ok(buffer) = object.get::<_, Object>("buffer") else {
        return Ok(None);
    };
    let Some(buffer) = ArrayBuffer::from_object(buffer) else {
        return Ok(None);
    };
    let offset: usize = object.get::<_, Option<usize>>("byteOffset")?.unwrap_or(0);
    let length: usize = match object.get::<_, Option<usize>>("byteLength")? {
        Some(length) => length,
        None => return Ok(None),
    };
    // SAFETY: the slice is copied before any JavaScript runs again.
    let bytes = unsafe { buffer.as_bytes() }.unwrap_or(&[]);
    Ok(bytes
        .get(offset..offset.saturating_add(length))
        .map(|slice| slice.to_vec()))
}

/// A new `ArrayBuffer` owning `bytes`.
pub fn array_buffer<'js>(ctx: &Ctx<'js>, bytes: Vec<u8>) -> Result<ArrayBuffer<'js>> {
    ArrayBuffer::new(ctx.clone(), bytes)
}
