// SHA-256, for hashing attribute values (FIPS 180-4).

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const HEX = "0123456789abcdef";

/** SHA-256 of len bytes at ptr, as 64 lowercase hex characters. */
export function sha256Hex(ptr: usize, len: i32): string {
  const h = new StaticArray<u32>(8);
  h[0] = 0x6a09e667; h[1] = 0xbb67ae85; h[2] = 0x3c6ef372; h[3] = 0xa54ff53a;
  h[4] = 0x510e527f; h[5] = 0x9b05688c; h[6] = 0x1f83d9ab; h[7] = 0x5be0cd19;
  const total = ((len + 9 + 63) >> 6) << 6;
  const msg = new Uint8Array(total);
  memory.copy(msg.dataStart, ptr, len);
  msg[len] = 0x80;
  const bits = <u64>len * 8;
  for (let k = 0; k < 8; k++) msg[total - 1 - k] = <u8>(bits >> (<u64>k * 8));
  const w = new StaticArray<u32>(64);
  const v = new StaticArray<u32>(8);
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) {
      const b = off + i * 4;
      w[i] = (<u32>msg[b] << 24) | (<u32>msg[b + 1] << 16) | (<u32>msg[b + 2] << 8) | <u32>msg[b + 3];
    }
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    for (let i = 0; i < 8; i++) v[i] = h[i];
    for (let i = 0; i < 64; i++) {
      const s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
      const ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
      const t1 = v[7] + s1 + ch + K[i] + w[i];
      const s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
      const maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
      const t2 = s0 + maj;
      v[7] = v[6]; v[6] = v[5]; v[5] = v[4]; v[4] = v[3] + t1;
      v[3] = v[2]; v[2] = v[1]; v[1] = v[0]; v[0] = t1 + t2;
    }
    for (let i = 0; i < 8; i++) h[i] += v[i];
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    for (let shift = 28; shift >= 0; shift -= 4) out += HEX.charAt((h[i] >> shift) & 15);
  }
  return out;
}
