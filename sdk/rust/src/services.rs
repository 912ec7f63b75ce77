//! Host services: log, metrics, key-value state, environment, time; and SHA-256.

use crate::{host, Error, Result};

#[derive(Clone, Copy, Debug)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// Writes to weft's log, tagged with the plugin's id.
pub fn log(level: Level, message: &str) {
    unsafe { host::log(level as i32, message.as_ptr(), message.len() as i32) }
}

/// Sets the text weft logs for a failing status (the SDK does it for returned errors).
pub fn set_error(message: &str) {
    unsafe { host::set_error(message.as_ptr(), message.len() as i32) }
}

/// Wall-clock time in nanoseconds since the Unix epoch.
pub fn now_unix_nano() -> i64 {
    unsafe { host::now_unix_nano() }
}

fn metric(kind: i32, name: &str, value: f64, attributes: &str) -> Result {
    let rc = unsafe {
        host::metric(
            kind,
            name.as_ptr(),
            name.len() as i32,
            value,
            attributes.as_ptr(),
            attributes.len() as i32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::new(format!("weft refused the metric {name} ({rc})")))
    }
}

/// Adds to a plugin counter; attributes are "key=value" lines separated by '\n'.
pub fn counter_add(name: &str, value: f64, attributes: &str) -> Result {
    metric(0, name, value, attributes)
}
pub fn gauge_set(name: &str, value: f64, attributes: &str) -> Result {
    metric(1, name, value, attributes)
}
pub fn histogram_record(name: &str, value: f64, attributes: &str) -> Result {
    metric(2, name, value, attributes)
}

/// Reads through a host call that copies up to `cap` bytes and returns the full size.
pub(crate) fn read_sized(call: impl Fn(*mut u8, i32) -> i32) -> core::result::Result<Vec<u8>, i32> {
    let mut buf = vec![0u8; 256];
    loop {
        let n = call(buf.as_mut_ptr(), buf.len() as i32);
        if n < 0 {
            return Err(n);
        }
        if n as usize <= buf.len() {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        buf.resize(n as usize, 0);
    }
}

/// The state's value of key (None if absent).
pub fn kv_get(key: &str) -> Option<Vec<u8>> {
    read_sized(|out, cap| unsafe { host::kv_get(key.as_ptr(), key.len() as i32, out, cap) }).ok()
}
/// Sets key in the state (bounded by limits.state).
pub fn kv_set(key: &str, value: &[u8]) -> Result {
    match unsafe { host::kv_set(key.as_ptr(), key.len() as i32, value.as_ptr(), value.len() as i32) } {
        0 => Ok(()),
        -4 => Err(Error::new("kv_set: past the plugin's state quota")),
        rc => Err(Error::new(format!("kv_set failed ({rc})"))),
    }
}
pub fn kv_delete(key: &str) {
    unsafe { host::kv_delete(key.as_ptr(), key.len() as i32) };
}
/// An environment variable the config grants (permissions.env).
pub fn env_get(name: &str) -> Result<Option<String>> {
    match read_sized(|out, cap| unsafe { host::env_get(name.as_ptr(), name.len() as i32, out, cap) }) {
        Ok(v) => Ok(Some(String::from_utf8_lossy(&v).into_owned())),
        Err(-1) => Ok(None),
        Err(-3) => Err(Error::new(format!("env_get: {name} is not granted in permissions.env"))),
        Err(rc) => Err(Error::new(format!("env_get failed ({rc})"))),
    }
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
];

/// SHA-256 of data.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for i in 0..8 {
        out[i * 4..i * 4 + 4].copy_from_slice(&h[i].to_be_bytes());
    }
    out
}

/// SHA-256 of data as 64 lowercase hex characters.
pub fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in sha256(data) {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}
