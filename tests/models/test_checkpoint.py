"""Checkpoint folders are written atomically, also by two writers of the same folder at once."""

from __future__ import annotations

from pathlib import Path

from expected_harm.models import _checkpoint


class SavingTestDouble:
    """Stands in for a model or tokenizer: ``save_pretrained`` writes one file, and may first
    let another writer run (``meanwhile``), as a second section process converting the same
    model would."""

    def __init__(self, name: str, meanwhile=None) -> None:
        self.name, self.meanwhile = name, meanwhile

    def save_pretrained(self, folder: Path) -> None:
        if self.meanwhile:
            self.meanwhile()
        (Path(folder) / self.name).write_text("saved")


def test_two_writers_of_one_checkpoint_folder_both_finish(tmp_path: Path) -> None:
    folder = tmp_path / "hf" / "model-abc"

    def other_writer() -> None:
        _checkpoint._save(folder, SavingTestDouble("config.json"), SavingTestDouble("tok.json"))

    _checkpoint._save(folder, SavingTestDouble("config.json", meanwhile=other_writer),
                      SavingTestDouble("tok.json"))
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "tok.json"]
    assert [p.name for p in folder.parent.iterdir()] == ["model-abc"]  # no scratch left
