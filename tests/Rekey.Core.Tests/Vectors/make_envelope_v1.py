#!/usr/bin/env python3
"""Writes envelope-v1.json: golden vectors for envelope format v1, built from docs/formats.md
with Python's `cryptography` package, independently of the C# code. Run once; the committed
output must never change (a test pins every byte)."""
import base64
import json
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding


def envelope(kek, dek, nonce, key_name, version, context, plaintext):
    name = key_name.encode("ascii")
    prefix = b"RK" + bytes([1, 1, len(name)]) + name
    ctx = context.encode("utf-8")
    aad = prefix + struct.pack(">I", len(ctx)) + ctx
    wrapped = aes_key_wrap_with_padding(kek, dek)
    assert len(wrapped) == 40
    sealed = AESGCM(dek).encrypt(nonce, plaintext, aad)  # ciphertext || tag
    return prefix + struct.pack(">I", version) + bytes([len(wrapped)]) + wrapped + nonce + sealed


def main():
    kek = bytes(range(0x00, 0x20))
    cases = [
        ("short-name-empty-plaintext", "a", 1, "ctx", b""),
        ("hierarchical-name", "tenants/h42/patients", 3, "tenant=h42;table=patients;id=17", b"Jane Doe, 1970-01-01, blood type 0+"),
        ("record-256-bytes", "payments/cards", 12, "purpose=card;id=4242", bytes(i % 251 for i in range(256))),
        ("unicode-context-max-version", "x.y-z_0", 2147483647, "mandant=Zürich;Ω", b"\x00\xff" * 20),
        ("max-name-length", "k" * 128, 7, "c", b"hello"),
    ]
    out = []
    for i, (label, name, version, ctx, pt) in enumerate(cases):
        dek = bytes((0x40 + i + j) % 256 for j in range(32))
        nonce = bytes((0xA0 + i + j) % 256 for j in range(12))
        env = envelope(kek, dek, nonce, name, version, ctx, pt)
        text = "rekey:v%d:%s" % (version, base64.urlsafe_b64encode(env).decode().rstrip("="))
        out.append({
            "label": label, "kek": kek.hex(), "dek": dek.hex(), "nonce": nonce.hex(), "key": name,
            "version": version, "context": ctx, "plaintext": pt.hex(), "envelope": env.hex(), "text": text,
        })
    with open("envelope-v1.json", "w", encoding="utf-8") as f:
        json.dump({"format": 1, "source": "make_envelope_v1.py (Python cryptography)", "vectors": out}, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
