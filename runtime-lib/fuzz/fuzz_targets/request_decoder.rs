//! Arbitrary bytes, in arbitrary read splits, into `RequestDecoder`: must never panic, must
//! keep its buffers bounded, and what it decodes must survive encode → decode.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wasock::http::fuzz_support::request_decoder(data));
