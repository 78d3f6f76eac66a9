"""uvicorn's HTTP protocol, with the Sonarly envelope on the 400 it sends for requests that are not HTTP.

uvicorn's parser refuses some requests before any application code runs (a DEL byte in a header, a
Content-Length too large to parse) and answers them in plain text; clients of this mock expect the
envelope on every response, so this subclass writes one instead.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mock_server.http.envelope import JSON, encode, failure, new_trace_id


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        body = failure(
            "VALIDATION_ERROR", "The request is not valid HTTP/1.1.", f"request: {msg}", trace_id=new_trace_id()
        )
        payload = encode(body)
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + JSON.encode() + b"\r\n",
                b"content-length: " + str(len(payload)).encode("ascii") + b"\r\n",
                b"x-trace-id: " + body["traceId"].encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                payload,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
