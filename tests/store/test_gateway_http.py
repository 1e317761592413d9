"""The trustless gateway's HTTP behaviour, against a real uvicorn server."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import httpx
import pytest

from node.protocol.canonical import canonical_json
from node.protocol.cid import CHUNK_SIZE
from node.protocol.unixfs import build_file_dag
from node.store import EmbeddedStore
from tests.store.servers import gateway_app, serve

RAW = "application/vnd.ipld.raw"
IMMUTABLE = "public, max-age=29030400, immutable"
MANIFEST = canonical_json({"schema": "labelnet/task@1", "title": "cats or dogs", "labels": [0, 1]})
BIG = random.Random(21).randbytes(3 * CHUNK_SIZE + 17)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, EmbeddedStore]]:
    store = EmbeddedStore.in_data_dir(tmp_path_factory.mktemp("gateway") / "data")
    store.put(MANIFEST)
    store.put(BIG)
    with serve(gateway_app(store)) as url:
        yield url, store


@pytest.fixture
def http(node: tuple[str, EmbeddedStore]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node[0], timeout=10) as client:
        yield client


def test_raw_block_by_format_query(http: httpx.Client) -> None:
    cid = str(build_file_dag(MANIFEST).root)
    response = http.get(f"/ipfs/{cid}", params={"format": "raw"})

    assert response.status_code == 200
    assert response.content == MANIFEST
    assert response.headers["content-type"] == RAW
    assert response.headers["etag"] == f'"{cid}.raw"'
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == f'attachment; filename="{cid}.bin"'
    assert response.headers["content-length"] == str(len(MANIFEST))
    assert response.headers["x-ipfs-path"] == f"/ipfs/{cid}"
    assert "content-location" not in response.headers  # the URL already names the format


def test_raw_block_by_accept_header(http: httpx.Client) -> None:
    dag = build_file_dag(BIG)
    for cid, data in dag.blocks.items():
        response = http.get(f"/ipfs/{cid}", headers={"Accept": f"{RAW}, */*;q=0.1"})
        assert response.status_code == 200
        assert response.headers["content-type"] == RAW
        assert hashlib.sha256(response.content).digest() == bytes(cid.raw_digest)
        assert response.content == data
        assert response.headers["content-location"] == f"/ipfs/{cid}?format=raw"


def test_format_query_wins_over_accept(http: httpx.Client) -> None:
    cid = str(build_file_dag(MANIFEST).root)
    response = http.get(f"/ipfs/{cid}?format=raw", headers={"Accept": "application/json"})
    assert response.headers["content-type"] == RAW


def test_head_has_headers_and_no_body(http: httpx.Client) -> None:
    root = build_file_dag(BIG).root
    response = http.head(f"/ipfs/{root}?format=raw")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(build_file_dag(BIG).blocks[root]))
    assert response.headers["etag"] == f'"{root}.raw"'

    whole = http.head(f"/ipfs/{root}")
    assert whole.status_code == 200
    assert whole.content == b""
    assert whole.headers["content-length"] == str(len(BIG))


def test_without_raw_the_whole_file_is_served(http: httpx.Client) -> None:
    manifest = http.get(f"/ipfs/{build_file_dag(MANIFEST).root}")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"] == "application/json"
    assert manifest.json()["title"] == "cats or dogs"
    assert manifest.headers["etag"] == f'"{build_file_dag(MANIFEST).root}"'

    big = http.get(f"/ipfs/{build_file_dag(BIG).root}", headers={"Accept": "*/*"})
    assert big.status_code == 200
    assert big.headers["content-type"] == "application/octet-stream"
    assert big.headers["cache-control"] == IMMUTABLE
    assert big.headers["x-content-type-options"] == "nosniff"
    assert big.content == BIG


def test_cidv0_and_other_bases_name_the_same_block(http: httpx.Client) -> None:
    root = build_file_dag(BIG).root
    for spelling in (root.set(version=0, base="base58btc"), root.set(base="base36")):
        response = http.get(f"/ipfs/{spelling}?format=raw")
        assert response.status_code == 200
        assert response.content == build_file_dag(BIG).blocks[root]
        assert response.headers["etag"] == f'"{root}.raw"'  # normalized to base32 CIDv1


def test_unknown_cid_is_404(http: httpx.Client) -> None:
    unknown = str(build_file_dag(b"never stored").root)
    for method in ("GET", "HEAD"):
        assert http.request(method, f"/ipfs/{unknown}?format=raw").status_code == 404
    response = http.get(f"/ipfs/{unknown}")
    assert response.status_code == 404
    assert unknown in response.text


@pytest.mark.parametrize("bad", ["not-a-cid", "bafybeig", "Qm123", "zzzz"])
def test_malformed_cid_is_400(http: httpx.Client, bad: str) -> None:
    assert http.get(f"/ipfs/{bad}?format=raw").status_code == 400
    assert http.head(f"/ipfs/{bad}").status_code == 400


def test_unsupported_formats(http: httpx.Client) -> None:
    cid = str(build_file_dag(MANIFEST).root)
    assert http.get(f"/ipfs/{cid}?format=tar").status_code == 400
    for accept in ("application/x-tar", "application/vnd.ipfs.ipns-record", "text/html"):
        refused = http.get(f"/ipfs/{cid}", headers={"Accept": accept})
        assert refused.status_code == 406, accept  # not the whole file in another's name
        assert MANIFEST not in refused.content
    # The file is JSON, so a client that takes JSON only gets it; binary content it refuses.
    assert http.get(f"/ipfs/{cid}", headers={"Accept": "application/json"}).status_code == 200
    big = str(build_file_dag(BIG).root)
    assert http.get(f"/ipfs/{big}", headers={"Accept": "application/json"}).status_code == 406
    assert http.get(f"/ipfs/{cid}", headers={"Accept": "*/*;q=0"}).status_code == 406


@pytest.mark.parametrize(
    "accept",
    [
        None,  # plain scripts
        "*/*",  # curl
        "application/octet-stream",
        "application/*",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # a page load
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",  # an <img>
        "application/vnd.ipld.car;q=0.1, */*",  # a higher weight for the file
    ],
)
def test_browsers_and_plain_clients_get_the_file(http: httpx.Client, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    with httpx.Client(base_url=str(http.base_url), timeout=10) as client:
        client.headers.pop("accept", None)  # httpx sends */* unless told otherwise
        response = client.get(f"/ipfs/{build_file_dag(BIG).root}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == BIG


def test_probe_cid_and_if_none_match(http: httpx.Client) -> None:
    probe = http.get("/ipfs/bafkqaaa", headers={"Accept": RAW})
    assert probe.status_code == 200
    assert probe.content == b""

    cid = str(build_file_dag(MANIFEST).root)
    etag = http.get(f"/ipfs/{cid}?format=raw").headers["etag"]
    cached = http.get(f"/ipfs/{cid}?format=raw", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""


def test_corrupt_local_block_is_a_server_error_not_bad_bytes(
    node: tuple[str, EmbeddedStore], http: httpx.Client
) -> None:
    _, store = node
    content = b'{"schema":"labelnet/items@1","page":7}'
    cid = store.put(content)
    store.path_for(cid).write_bytes(content.replace(b"7", b"8"))
    try:
        raw = http.get(f"/ipfs/{cid}?format=raw")
        assert raw.status_code == 500
        assert str(store.root) not in raw.text  # no data-directory paths leak to peers
        assert http.get(f"/ipfs/{cid}").status_code == 500
    finally:
        store.put(content)  # repair for other tests sharing the module's node
