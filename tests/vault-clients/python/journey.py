"""A Vault application's journey through Rekey's Transit surface, driven by hvac (Debian's
python3-hvac) exactly as an application would drive Vault: only the address and the token point
at Rekey.

    VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=rkt_... /usr/bin/python3 journey.py

Prints one line per step and exits 1 at the first step that does not behave as Vault's does.
"""
import base64
import os
import sys
import time

import hvac
from hvac import exceptions

client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
transit = client.secrets.transit
KEY = os.environ.get("JOURNEY_KEY", "py-orders")
steps = 0


def b64(text):
    return base64.b64encode(text.encode()).decode()


def text(value):
    return base64.b64decode(value).decode()


def step(name):
    def run(body):
        global steps
        try:
            body()
        except Exception as error:  # the journey reports any failure as the step's
            print(f"FAIL {name}: {type(error).__name__}: {error}")
            sys.exit(1)
        steps += 1
        print(f"ok   {name}")
    return run


def refused(kind, call):
    try:
        call()
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}, got a success")


state = {}


@step("enable transit (already served: succeeds) and list mounts")
def _():
    client.sys.enable_secrets_engine("transit", path="transit")
    assert "transit/" in client.sys.list_mounted_secrets_engines()["data"]


@step("create_key and read_key")
def _():
    transit.create_key(KEY)
    key = transit.read_key(KEY)["data"]
    assert key["name"] == KEY and key["type"] == "aes256-gcm96", key
    assert key["latest_version"] == 1 and key["min_decryption_version"] == 1
    assert abs(key["keys"]["1"] - time.time()) < 600, key["keys"]


@step("list_keys")
def _():
    assert KEY in transit.list_keys()["data"]["keys"]


@step("encrypt_data and decrypt_data")
def _():
    encrypted = transit.encrypt_data(KEY, b64("patient 17"))["data"]
    assert encrypted["ciphertext"].startswith("vault:v1:"), encrypted
    state["v1"] = encrypted["ciphertext"]
    assert text(transit.decrypt_data(KEY, state["v1"])["data"]["plaintext"]) == "patient 17"


@step("rotate_key and rewrap_data")
def _():
    transit.rotate_key(KEY)
    assert transit.read_key(KEY)["data"]["latest_version"] == 2
    rewrapped = transit.rewrap_data(KEY, state["v1"])["data"]
    assert rewrapped["ciphertext"].startswith("vault:v2:") and rewrapped["key_version"] == 2
    state["v2"] = rewrapped["ciphertext"]
    assert text(transit.decrypt_data(KEY, state["v2"])["data"]["plaintext"]) == "patient 17"


@step("a batch with one bad item: 400 for the whole, then each item answered with partial_failure_response_code")
def _():
    batch = [{"plaintext": b64("a"), "reference": "1"}, {"plaintext": "%%%", "reference": "2"}]
    refused(exceptions.InvalidRequest, lambda: transit.encrypt_data(KEY, None, batch_input=batch))
    results = client.write(f"transit/encrypt/{KEY}", batch_input=batch, partial_failure_response_code=200)["data"]["batch_results"]
    assert results[0]["ciphertext"].startswith("vault:v2:") and results[0]["reference"] == "1", results
    assert results[1]["error"] and "ciphertext" not in results[1] and results[1]["reference"] == "2", results
    decrypted = transit.decrypt_data(KEY, None, batch_input=[{"ciphertext": results[0]["ciphertext"]}])["data"]["batch_results"]
    assert text(decrypted[0]["plaintext"]) == "a"


@step("update_key_configuration (and auto_rotate_period by write)")
def _():
    transit.update_key_configuration(KEY, min_decryption_version=2, deletion_allowed=True)
    client.write(f"transit/keys/{KEY}/config", auto_rotate_period="48h")
    key = transit.read_key(KEY)["data"]
    assert key["min_decryption_version"] == 2 and key["deletion_allowed"] is True and key["auto_rotate_period"] == 172800, key


@step("decrypt below min_decryption_version is refused")
def _():
    error = refused(exceptions.InvalidRequest, lambda: transit.decrypt_data(KEY, state["v1"]))
    assert "minimum decryption version" in str(error), error


@step("generate_data_key plaintext and wrapped")
def _():
    plain = transit.generate_data_key(KEY, key_type="plaintext", bits=128)["data"]
    assert len(base64.b64decode(plain["plaintext"])) == 16
    assert transit.decrypt_data(KEY, plain["ciphertext"])["data"]["plaintext"] == plain["plaintext"]
    wrapped = transit.generate_data_key(KEY, key_type="wrapped")["data"]
    assert "plaintext" not in wrapped and wrapped["ciphertext"].startswith("vault:v2:")


@step("trim_key")
def _():
    trimmed = transit.trim_key(KEY, min_version=2)
    data = trimmed["data"] if isinstance(trimmed, dict) else transit.read_key(KEY)["data"]
    assert data["min_available_version"] == 2 and list(data["keys"]) == ["2"], data


@step("unsupported features answer with a clear error")
def _():
    error = refused(exceptions.InvalidRequest, lambda: transit.create_key(f"{KEY}-derived", derived=True))
    assert "derived keys are not supported" in str(error), error
    refused(exceptions.InvalidRequest, lambda: transit.sign_data(KEY, b64("x")))


@step("delete_key, then read_key is a 404")
def _():
    transit.delete_key(KEY)
    refused(exceptions.InvalidPath, lambda: transit.read_key(KEY))


print(f"hvac journey passed: {steps} steps")
