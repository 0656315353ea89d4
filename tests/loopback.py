"""A file server on 127.0.0.1 for download tests: plain files by path, and Hugging Face hub files at
``/<repo>/resolve/<revision>/<file>`` with the headers ``huggingface_hub`` reads (commit, ETag = SHA-256)."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Files:
    def __init__(self):
        self.files: dict[str, bytes] = {}  # path -> content served
        self.etags: dict[str, str] = {}  # path -> the checksum announced (defaults to the content's)
        self.requests: list[tuple[str, str]] = []
        self.server = None

    def add(self, path: str, data: bytes, etag: str | None = None) -> None:
        self.files[path] = data
        self.etags[path] = etag or hashlib.sha256(data).hexdigest()

    def add_hub(self, repo: str, filename: str, data: bytes, etag: str | None = None) -> None:
        self.add(f"/{repo}/resolve/main/{filename}", data, etag)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Files:
        files = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _head(self):
                files.requests.append((self.command, self.path))
                data = files.files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", f'"{files.etags[self.path]}"')
                self.send_header("X-Repo-Commit", "0" * 40)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                return data

            def do_HEAD(self):
                self._head()

            def do_GET(self):
                data = self._head()
                if data is not None:
                    self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
