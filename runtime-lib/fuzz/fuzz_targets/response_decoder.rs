//! Arbitrary bytes, in arbitrary read splits and then EOF, into `ResponseDecoder`: must never
//! panic, and what it decodes must survive encode → decode.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wasock::http::fuzz_support::response_decoder(data));
