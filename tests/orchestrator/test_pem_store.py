"""The PEM store on real files: inventory, add, remove, duplicates, and paths that leave the store directory."""

import base64
from pathlib import Path

import pytest

from orchjobs.orchestrator.pem_store import PemStore, StoreError, certificate_der
from tests.orchestrator.certificates import MadeCertificate, make_certificate


@pytest.fixture(scope="module")
def web() -> MadeCertificate:
    return make_certificate("web.example.com")


@pytest.fixture(scope="module")
def api() -> MadeCertificate:
    return make_certificate("api.example.com")


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "stores"
    directory.mkdir()
    return directory


def write_store(directory: Path, name: str, *parts: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="ascii")
    return path


def aliases_in(path: Path, store: PemStore) -> list[str]:
    return [certificate.alias for certificate in store.certificates(str(path))]


def test_inventory_lists_each_certificate_once_with_sha1_alias_and_key_presence(
    store_dir: Path, web: MadeCertificate, api: MadeCertificate
) -> None:
    write_store(store_dir, "app.pem", "# a comment\n", web.pem, web.key_pem, api.pem, web.pem)

    found = PemStore(store_dir).certificates("app.pem")

    assert [(item.alias, item.private_key_entry) for item in found] == [(web.alias, True), (api.alias, False)]
    assert found[0].der == web.der


def test_inventory_of_an_empty_file_is_empty(store_dir: Path) -> None:
    write_store(store_dir, "empty.pem")
    assert PemStore(store_dir).certificates("empty.pem") == []


def test_a_block_that_is_not_a_certificate_is_an_error(store_dir: Path) -> None:
    write_store(store_dir, "bad.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    with pytest.raises(StoreError, match="not a valid X.509 certificate"):
        PemStore(store_dir).certificates("bad.pem")


def test_add_appends_a_base64_der_certificate(store_dir: Path, web: MadeCertificate, api: MadeCertificate) -> None:
    path = write_store(store_dir, "app.pem", web.pem.rstrip("\n"))  # no final newline: add must supply one
    store = PemStore(store_dir)

    assert store.add("app.pem", certificate_der(base64.b64encode(api.der).decode())) is True

    assert aliases_in(path, store) == [web.alias, api.alias]
    assert path.read_text().endswith(api.pem)


def test_add_accepts_pem_entry_contents(store_dir: Path, api: MadeCertificate) -> None:
    path = write_store(store_dir, "app.pem")
    store = PemStore(store_dir)

    assert store.add("app.pem", certificate_der(api.pem)) is True

    assert aliases_in(path, store) == [api.alias]


def test_adding_a_certificate_already_present_changes_nothing(store_dir: Path, web: MadeCertificate) -> None:
    path = write_store(store_dir, "app.pem", web.pem, web.key_pem)
    before = path.read_bytes()

    assert PemStore(store_dir).add("app.pem", web.der) is False

    assert path.read_bytes() == before


def test_remove_deletes_the_certificate_and_its_key_and_keeps_the_rest(
    store_dir: Path, web: MadeCertificate, api: MadeCertificate
) -> None:
    path = write_store(store_dir, "app.pem", "# keep me\n", web.pem, web.key_pem, api.pem, api.key_pem)
    store = PemStore(store_dir)

    assert store.remove("app.pem", web.alias.upper()) is True  # aliases match in any case

    assert path.read_text() == "# keep me\n" + api.pem + api.key_pem
    assert [(item.alias, item.private_key_entry) for item in store.certificates("app.pem")] == [(api.alias, True)]


def test_removing_an_absent_alias_changes_nothing(store_dir: Path, web: MadeCertificate) -> None:
    path = write_store(store_dir, "app.pem", web.pem)
    before = path.read_bytes()

    assert PemStore(store_dir).remove("app.pem", "00" * 20) is False

    assert path.read_bytes() == before


def test_writes_keep_the_file_mode(store_dir: Path, web: MadeCertificate) -> None:
    path = write_store(store_dir, "app.pem")
    path.chmod(0o640)

    PemStore(store_dir).add("app.pem", web.der)

    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(item.name for item in store_dir.iterdir()) == ["app.pem"]  # no temporary file left behind


def test_store_paths_may_be_relative_or_absolute_inside_the_directory(store_dir: Path, web: MadeCertificate) -> None:
    path = write_store(store_dir, "nested/app.pem", web.pem)
    store = PemStore(store_dir)

    assert store.resolve("nested/app.pem") == path.resolve()
    assert store.resolve(str(path)) == path.resolve()
    assert store.resolve("nested/../nested/app.pem") == path.resolve()


@pytest.mark.parametrize("escape", ["../outside.pem", "nested/../../outside.pem", "{outside}", "link.pem"])
def test_paths_leaving_the_store_directory_are_refused(store_dir: Path, web: MadeCertificate, escape: str) -> None:
    outside = write_store(store_dir.parent, "outside.pem", web.pem)
    (store_dir / "link.pem").symlink_to(outside)  # a symlink is followed before the check
    store = PemStore(store_dir)

    with pytest.raises(StoreError, match="outside the store directory"):
        store.resolve(escape.format(outside=outside))
    with pytest.raises(StoreError, match="outside the store directory"):
        store.add(escape.format(outside=outside), web.der)
    assert outside.read_text() == web.pem


def test_the_orchestrators_own_files_are_not_stores(store_dir: Path, web: MadeCertificate) -> None:
    log = write_store(store_dir, "orchestrator.log", "2026-11-29 INFO started\n")
    store = PemStore(store_dir, own_files=[log])

    with pytest.raises(StoreError, match="one of the orchestrator's own files"):
        store.add("./orchestrator.log", web.der)
    assert log.read_text() == "2026-11-29 INFO started\n"


@pytest.mark.parametrize(
    ("store_path", "message"),
    [("", "names no store path"), ("missing.pem", "does not exist"), ("nested", "is not a file")],
)
def test_unusable_store_paths_are_refused(store_dir: Path, store_path: str, message: str) -> None:
    (store_dir / "nested").mkdir()
    with pytest.raises(StoreError, match=message):
        PemStore(store_dir).resolve(store_path)


@pytest.mark.parametrize("contents", ["not base64 at all!", "bm90IGEgY2VydA==", "-----BEGIN PRIVATE KEY-----\n"])
def test_entry_contents_that_are_not_a_certificate_are_refused(contents: str) -> None:
    with pytest.raises(StoreError):
        certificate_der(contents)
