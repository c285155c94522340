"""bench/platform: the reference architecture's patient API, for comparison with cloister-platform.

What a hospital platform built the usual way does for the same two calls, and no more: Flask behind
gunicorn, Redis on loopback without TLS, the FHIR Patient stored as plain JSON (no sealing, no
encryption at rest, no audit log). Each request is authenticated like the platform's: a bearer
token looked up in Redis.

    POST /login            {"username", "password"} -> 200 {"token"}   (session:<token> in Redis, 8 h)
    POST /patients         FHIR Patient JSON -> 201 {"resourceType": "Patient", "id", ...}, Location
                           400 unless resourceType == "Patient" and an identifier has a value;
                           409 when another patient has the same identifier (system|value)
    GET  /patients/<id>    -> 200 the stored Patient, 404
    GET  /healthz          -> 200 (no authentication; the bench script waits on it)

Configuration (environment): REDIS_URL (default redis://127.0.0.1:6379/0), REFERENCE_USER and
REFERENCE_PASSWORD (the one user; default "bench" and a password the script generates).
Run: gunicorn --chdir bench/platform -w 5 -b 127.0.0.1:8000 reference_app:app
Benchmark only: one user, no TLS, no audit; never a model for a real deployment.
"""

import hmac
import json
import os
import secrets
import uuid

import redis
from flask import Flask, Response, request
from werkzeug.security import check_password_hash, generate_password_hash

SESSION_SECONDS = 8 * 3600
MAX_BODY_BYTES = 1024 * 1024

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
# One connection pool per worker process (gunicorn forks after import; redis-py opens lazily).
store = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
USER = os.environ.get("REFERENCE_USER", "bench")
# Hashed once per worker: logins cost a PBKDF2, as a real password store would.
PASSWORD_HASH = generate_password_hash(os.environ.get("REFERENCE_PASSWORD", secrets.token_urlsafe(16)))


def problem(status, detail):
    return Response(json.dumps({"status": status, "detail": detail}), status=status,
                    content_type="application/problem+json")


def authenticated():
    """The user of the request's session token, or None."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) <= 7:
        return None
    user = store.get("session:" + header[7:])
    return user.decode() if user is not None else None


@app.get("/healthz")
def healthz():
    return "ok\n"


@app.post("/login")
def login():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("username"), str) or not isinstance(body.get("password"), str):
        return problem(400, 'login takes {"username", "password"}')
    if not hmac.compare_digest(body["username"], USER) or not check_password_hash(PASSWORD_HASH, body["password"]):
        return problem(401, "invalid credentials")
    token = secrets.token_urlsafe(32)
    store.set("session:" + token, USER, ex=SESSION_SECONDS)
    return {"token": token, "token_type": "Bearer"}


@app.post("/patients")
def create_patient():
    if authenticated() is None:
        return problem(401, "log in first")
    patient = request.get_json(silent=True)
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        return problem(400, 'expected a FHIR Patient (resourceType "Patient")')
    listed = patient.get("identifier")
    identifiers = [i for i in listed if isinstance(i, dict) and isinstance(i.get("value"), str) and i["value"]] \
        if isinstance(listed, list) else []
    if not identifiers:
        return problem(400, "a Patient needs at least one identifier with a value")
    patient_id = uuid.uuid4().hex
    patient["id"] = patient_id
    first = identifiers[0]
    index = "patient-identifier:" + str(first.get("system", "")) + "|" + first["value"]
    if not store.set(index, patient_id, nx=True):
        return problem(409, "another patient has this identifier")
    document = json.dumps(patient, separators=(",", ":"))
    store.set("patient:" + patient_id, document)
    return Response(document, status=201, content_type="application/fhir+json",
                    headers={"Location": "/patients/" + patient_id})


@app.get("/patients/<patient_id>")
def read_patient(patient_id):
    if authenticated() is None:
        return problem(401, "log in first")
    document = store.get("patient:" + patient_id)
    if document is None:
        return problem(404, "no such patient")
    return Response(document, status=200, content_type="application/fhir+json")
