#!/usr/bin/env python3
"""Writes rekey-file-v1.json: encrypted-file vectors computed independently of Rekey's C# code,
with the Python 'cryptography' package (HKDF-SHA256, AES-256-GCM) from docs/formats.md alone."""
import hashlib, json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEGMENT = 65536
data_key = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
salt = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
prefix = b"RKEYFILE" + bytes([1, 16, 0, 0]) + salt
segment_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"rekey file v1 segment key" + prefix[:12]).derive(data_key)
aes = AESGCM(segment_key)

def seal(plaintext):
    chunks = [plaintext[i:i + SEGMENT] for i in range(0, len(plaintext), SEGMENT)] or [b""]
    out = b""
    for index, chunk in enumerate(chunks):
        nonce = index.to_bytes(8, "big") + b"\0\0\0" + bytes([1 if index == len(chunks) - 1 else 0])
        out += aes.encrypt(nonce, chunk, None)
    return out

cases = []
for length in (0, 100, SEGMENT, 2 * SEGMENT + 5):
    plaintext = bytes(i % 251 for i in range(length))
    data = seal(plaintext)
    case = {"plaintext_length": length, "data_length": len(data), "data_sha256": hashlib.sha256(data).hexdigest()}
    if len(data) <= 200:
        case["data"] = data.hex()
    cases.append(case)

envelope = bytes(range(100))
body = (1).to_bytes(8, "big") + len(envelope).to_bytes(2, "big") + envelope
body += b"\0" * (480 - len(body))
slot = body + hashlib.sha256(body).digest()

json.dump({
    "comment": "plaintext byte i is i % 251; see docs/formats.md, Encrypted files",
    "data_key": data_key.hex(), "salt": salt.hex(), "prefix": prefix.hex(), "segment_key": segment_key.hex(),
    "cases": cases,
    "slot": {"sequence": 1, "envelope": envelope.hex(), "bytes": slot.hex()},
}, sys.stdout, indent=2)
print()
