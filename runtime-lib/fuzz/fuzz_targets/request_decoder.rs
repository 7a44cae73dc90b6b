//! Arbitrary bytes, in arbitrary read splits, into `RequestDecoder`: must never panic, must
//! keep its buffers bounded, and what it decodes must survive encode → decode.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The checks shared with the stable-toolchain run in `tests/http_codec.rs`.
#[path = "../../tests/fuzz_support/mod.rs"]
#[allow(dead_code)] // each target uses half of it
mod fuzz_support;

fuzz_target!(|data: &[u8]| fuzz_support::request_decoder(data));
