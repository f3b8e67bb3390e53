import json
import subprocess
import sys

from centralino.bot.nlu.model import IntentModel
from tests.bot.nlu.nlu_helpers import INTENTS, TEST_INTENTS


def run(args, tmp_path):
    return subprocess.run([sys.executable, "-m", "centralino.cli", "nlu", *args], cwd=tmp_path,
                          capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "CENTRALINO_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


def test_train_writes_a_loadable_model(tmp_path):
    out = tmp_path / "model.bin"
    result = run(["train", str(INTENTS), "--encoder", "tfidf", "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["intents"] == 4 and summary["examples"] == 36 and summary["bytes"] == out.stat().st_size
    model = IntentModel.from_bytes(out.read_bytes())
    assert model.predict("dov'è il mio ordine").intent == "order_status"


def test_eval_prints_accuracy_and_per_intent_figures(tmp_path):
    result = run(["eval", "--train", str(INTENTS), "--test", str(TEST_INTENTS), "--encoder", "tfidf",
                  "--threshold", "0.5"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["examples"] == 10 and 0.5 <= report["accuracy"] <= 1
    assert set(report["per_intent"]) == {"*", "cancel_order", "human", "opening_hours", "order_status"}
    assert report["threshold"] == 0.5


def test_a_bad_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("intents: [{name: a, threshold: 7}]")
    result = run(["train", str(bad), "--encoder", "tfidf"], tmp_path)
    assert result.returncode == 2
    assert "intents[0].threshold" in result.stderr


def test_eval_learns_the_out_of_scope_threshold_at_the_requested_recall(tmp_path):
    training = tmp_path / "train.yaml"
    training.write_text(INTENTS.read_text(encoding="utf-8") + """
  - name: oos
    examples: ["qual è la capitale della Francia", "raccontami una barzelletta", "che tempo fa a Roma",
               "tell me a joke", "who won the football match", "how tall is mount everest",
               "ricetta della carbonara", "what is the meaning of life", "chi ha scritto la Divina Commedia",
               "quanto è alto il Monte Bianco"]
""", encoding="utf-8")
    thresholds = []
    for floor in ("0", "1"):
        result = run(["eval", "--train", str(training), "--test", str(TEST_INTENTS), "--encoder", "tfidf",
                      "--oos-recall", floor], tmp_path)
        assert result.returncode == 0, result.stderr
        thresholds.append(json.loads(result.stdout.strip().splitlines()[-1])["oos_threshold"])
    assert thresholds[0] == 0.0 < thresholds[1]  # no recall asked: nothing refused by the threshold
