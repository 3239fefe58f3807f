"""The torch commands of ``postag``: train, eval, export, verify, parity, bench.

    postag train [--preset default|seed] [--data DIR] [hyperparameters...]
    postag train --vectors glove-6b-50d --vectors-mode frozen --vectors-combine concat
    postag eval artifacts/checkpoints/default.pt test --conllu-out pred.conllu
    postag export && postag verify artifacts/postag-en-ewt

The runtime's command group (:mod:`postag.cli`) registers these by name and imports
this module only when one of them runs. It imports no torch itself: each command calls
:func:`use_torch` first, which says which extra to install where torch is absent and
sets torch's intra-op threads from ``--threads``.

The export reads the corpus the checkpoint was trained on (its sha256 are recorded in the
checkpoint); ``--data`` overrides that. Training refuses one file as every split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from postag.cli import DEFAULT_BUNDLE, Options, data_option, report_dir_option, require_extra
from postag.errors import CorpusError
from postag.export.splits import corpus_file, training_corpus, training_sentences

if TYPE_CHECKING:
    from postag.corpus import Corpus

DEFAULT_CKPT_DIR = Path("artifacts") / "checkpoints"


def require_torch() -> None:
    """Raise a ClickException with the install command when torch cannot be imported."""
    require_extra(("torch",), "this command needs PyTorch", "export")


def use_torch(opts: Options) -> None:
    """:func:`require_torch`, then torch's intra-op threads = ``--threads`` (0: torch's
    default)."""
    require_torch()
    if opts.threads:
        import torch

        torch.set_num_threads(opts.threads)


bundle_checkpoint_option = click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    default=None,
    help="The PyTorch checkpoint [default: the path recorded in the manifest].",
)


def export_corpus(opts: Options, checkpoint: Path, data: str | None) -> Corpus:
    """The corpus the export reads (train: the fast graph's word forms; dev: the
    verification sample; dev/test: the evaluation). ``--data`` as given, with a note where
    it is not the corpus the checkpoint was trained on; else that corpus, found by the
    sha256 the checkpoint records (:func:`postag.corpus.find_corpus`) and refused, naming
    ``--data``, when it is not found."""
    from postag.corpus import differing_splits, find_corpus, locate_corpus
    from postag.export.train.checkpoint import Checkpoint

    ckpt = Checkpoint.load(checkpoint)
    want = ckpt.corpus_sha256()
    if want is None:
        opts.echo(f"note: {checkpoint} records no training corpus", err=True)
        return locate_corpus(data)
    if data:
        corpus = locate_corpus(data)
        if differ := differing_splits(corpus, want):
            opts.echo(
                f"note: --data is not the corpus {checkpoint} was trained on "
                f"({ckpt.corpus_files()}): its {'/'.join(differ)} files differ",
                err=True,
            )
        return corpus
    try:
        return find_corpus(want)
    except CorpusError as exc:
        raise CorpusError(
            f"{checkpoint} was trained on {ckpt.corpus_files()}, which was not found: {exc}"
        ) from None


def _hp(name: str, typ: type | click.ParamType, help: str) -> click.Option:  # noqa: A002
    return click.option(f"--{name}", type=typ, default=None, help=help)


HYPERPARAMETERS = [
    ("lr", float, "Learning rate."),
    ("batch-size", click.IntRange(min=1), "Sentences per batch."),
    ("epochs", click.IntRange(min=1), "Maximum epochs."),
    ("patience", click.IntRange(min=1), "Early stopping: epochs without dev improvement."),
    ("optimizer", click.Choice(["adam", "sgd"]), "Optimizer."),
    ("clip", click.FloatRange(min=0), "Gradient-norm clipping (0 = off)."),
    ("lr-decay", click.FloatRange(min=0, max=1), "LR factor after a non-improving epoch."),
    ("min-freq", click.IntRange(min=1), "Minimum word frequency for the word table."),
    ("word-dropout", click.FloatRange(min=0), "Word dropout alpha: p(unk) = a / (a + count)."),
    ("seed", int, "Random seed."),
    ("layers", click.IntRange(min=1), "Sentence LSTM layers."),
    ("hidden", click.IntRange(min=1), "Sentence LSTM units per direction."),
    ("word-dim", click.IntRange(min=1), "Word embedding size."),
    ("char-dim", click.IntRange(min=1), "Character embedding size."),
    ("char-hidden", click.IntRange(min=0), "Character LSTM units per direction (0 = off)."),
    ("dropout", click.FloatRange(min=0, max=0.9), "Dropout."),
    ("max-word-len", click.IntRange(min=2), "Characters per word the char model sees."),
    ("heads", str, "Output heads, comma-separated: upos[,xpos][,feats] (default preset: all)."),
    (
        "crf",
        str,
        "Heads decoded by a linear-chain CRF, comma-separated (e.g. upos,xpos); none = off.",
    ),
    ("xpos-weight", click.FloatRange(min=0), "Loss weight of the XPOS head (UPOS's is 1)."),
    ("feats-weight", click.FloatRange(min=0), "Loss weight of the UFeats head."),
    ("max-minutes", click.FloatRange(min=0), "Wall-clock safety cap (recorded when it fires)."),
    (
        "vectors",
        str,
        "Pretrained word vectors: glove-6b-50d (the default preset's; the 'export' extra) "
        "or a directory; none = without. Baked into the word embedding after training.",
    ),
    ("vectors-mode", click.Choice(["frozen", "finetune", "delta"]), "How the vectors train."),
    ("vectors-combine", click.Choice(["concat", "sum"]), "Vectors with the trained embedding."),
    ("vectors-top", click.IntRange(min=0), "Most frequent vector words kept (0 = all)."),
    ("adam-beta2", click.FloatRange(min=0, max=1, max_open=True), "Adam's second-moment decay."),
    (
        "distill-from",
        str,
        "Teacher checkpoints, comma-separated (e.g. seeds of one recipe): their mean label "
        "distributions are distilled into the model.",
    ),
    (
        "distill-weight",
        click.FloatRange(min=0, max=1),
        "Distillation: the teachers' share of each head's loss (the gold labels' is 1 - w).",
    ),
]


def hyperparameter_options(f):  # noqa: ANN001, ANN201
    for name, typ, help_ in reversed(HYPERPARAMETERS):
        f = _hp(name, typ, help_)(f)
    return f


@click.command()
@click.option(
    "--preset",
    type=click.Choice(["default", "seed"]),
    default="default",
    show_default=True,
    help="Starting configuration (seed = the tutorials' model).",
)
@data_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Checkpoint path [default: artifacts/checkpoints/<preset>.pt].",
)
@hyperparameter_options
@click.pass_obj
def train(opts: Options, preset: str, data: str | None, out: str | None, **hp: object) -> None:
    """Train the tagger on UD English EWT (or --data), keep the best checkpoint on dev,
    then score it on test. Writes the checkpoint, a training curve PNG and metrics JSON."""
    use_torch(opts)
    train_and_report(
        opts, preset, data, Path(out) if out else DEFAULT_CKPT_DIR / f"{preset}.pt", hp
    )


def train_and_report(
    opts: Options, preset: str, data: str | None, path: Path, hp: dict[str, object]
) -> None:
    """Train, score on test, write checkpoint + curve + metrics, print a summary."""
    from postag.corpus import corpus_identity
    from postag.data import read_conllu
    from postag.export.train.config import PRESETS, ModelConfig, TrainConfig
    from postag.export.train.evaluate import evaluate_checkpoint
    from postag.export.train.trainer import plot_history
    from postag.export.train.trainer import train as run_training

    model_cfg, train_cfg = PRESETS[preset]
    chosen = {k: v for k, v in hp.items() if v is not None}
    if chosen.get("vectors") == "none":  # the default preset's vectors switched off
        chosen["vectors"] = ""
    if "distill_weight" in chosen and not chosen.get("distill_from"):
        raise click.UsageError("--distill-weight needs --distill-from (the teachers)")
    if "adam_beta2" in chosen and (chosen.get("optimizer") or train_cfg.optimizer) != "adam":
        raise click.UsageError("--adam-beta2 is Adam's: not used with --optimizer sgd")
    for key in ("heads", "crf", "distill_from"):  # comma-separated lists; "none" = empty
        if isinstance(chosen.get(key), str):
            items = [h.strip() for h in str(chosen[key]).split(",")]
            chosen[key] = tuple(h for h in items if h and h != "none")
    model_cfg = model_cfg.replace(
        **{k: v for k, v in chosen.items() if k in ModelConfig.__dataclass_fields__}
    )
    train_cfg = train_cfg.replace(
        **{k: v for k, v in chosen.items() if k in TrainConfig.__dataclass_fields__}
    )
    if opts.threads:
        train_cfg = train_cfg.replace(threads=opts.threads)
    corpus = training_corpus(data)
    opts.echo(corpus.describe())
    train_set = read_conllu(corpus.path("train"))
    dev_set = read_conllu(corpus.path("dev"))
    ckpt = run_training(
        train_set,
        dev_set,
        model_cfg,
        train_cfg,
        preset=preset,
        corpus=corpus_identity(corpus),
        checkpoint_path=path,
        log=opts.echo,
    )
    result = None
    if "test" in corpus.files:
        result = evaluate_checkpoint(ckpt, read_conllu(corpus.path("test")))
        ckpt.metrics.update(result.metrics("test"))
        ckpt.save(path)
    curve = path.with_suffix(".curve.png")
    plot_history(ckpt.history, curve, title=f"postag {preset}: training curve")
    path.with_suffix(".metrics.json").write_text(json.dumps(ckpt.metrics, indent=2) + "\n")
    m = ckpt.metrics
    click.echo(
        f"best epoch {m['best_epoch']}/{m['epochs_run']} (budget {m['epochs_budget']}, "
        f"stopped by {m['stopped_by']})  {m['train_seconds'] / 60:.1f} min, "
        f"{m['parameters']:,} params"
    )
    if result is not None:
        click.echo("test:\n" + result.summary())
    click.echo(f"checkpoint: {path}\ncurve: {curve}")


@click.command(name="eval")
@click.argument("checkpoint", type=click.Path())
@click.argument("file", metavar="FILE|dev|test")
@data_option
@click.option(
    "--conllu-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write FILE back with the predicted UPOS, XPOS and FEATS (each head the model "
    "has; for external UD evaluators).",
)
@click.option(
    "--head",
    type=click.Choice(["upos", "xpos", "feats"]),
    default="upos",
    show_default=True,
    help="Whose per-label P/R/F1 and confusion matrix to print (and --plot).",
)
@click.option(
    "--json-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write all metrics (per tag, confusion matrix) as JSON.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the confusion matrix as a PNG heatmap.",
)
@click.pass_obj
def evaluate(
    opts: Options,
    checkpoint: str,
    file: str,
    data: str | None,
    conllu_out: str | None,
    head: str,
    json_out: str | None,
    plot: str | None,
) -> None:
    """Score CHECKPOINT on a CoNLL-U FILE (or the corpus' dev/test split): accuracy per
    head (UPOS, XPOS, UFeats as whole FEATS strings) and AllTags, known/unknown words; the
    CoNLL 2018 shared task's UPOS/XPOS/UFeats/AllTags (UFeats: universal features only, as
    conll18_ud_eval.py scores --conllu-out); for one head (--head) per-label
    precision/recall/F1 and the confusion matrix."""
    use_torch(opts)
    from postag.data import read_conllu, write_conllu_with_tags
    from postag.export.train.checkpoint import Checkpoint
    from postag.export.train.evaluate import evaluate_checkpoint

    ckpt = Checkpoint.load(checkpoint)
    path = corpus_file(data, file)
    sentences = read_conllu(path)
    result = evaluate_checkpoint(ckpt, sentences, training_sentences(ckpt, data, opts.echo))
    if head not in result.heads:
        raise click.ClickException(
            f"this model has no {head} head (heads: {', '.join(result.heads)})"
        )
    click.echo(f"{path}\n{result.summary()}\n\n{result.heads[head].table()}")
    if conllu_out:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n").lstrip("\ufeff")
        labels = ckpt.labels()
        predicted = {
            h: [[labels[h].items[i] for i in p] for p in ids] for h, ids in result.predicted.items()
        }
        Path(conllu_out).write_text(write_conllu_with_tags(text, predicted), encoding="utf-8")
        opts.echo(f"predictions: {conllu_out}")
    if json_out:
        Path(json_out).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        opts.echo(f"metrics: {json_out}")
    if plot:
        result.heads[head].plot_confusion(plot)
        opts.echo(f"confusion heatmap: {plot}")


@click.command(name="export")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    default=None,
    help="Checkpoint to export [default: artifacts/checkpoints/default.pt, trained "
    "first if missing].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=DEFAULT_BUNDLE,
    show_default=True,
    help="Bundle directory (replaced only after verification).",
)
@click.option("--name", default="postag-en-ewt", show_default=True, help="Bundle name.")
@click.option("--version", "version_", default=None, help="Bundle version [default: postag's].")
@click.option(
    "--mwt/--no-mwt",
    default=True,
    show_default=True,
    help="Learn the multiword-token lexicon (don't → do n't, du → de le) from the training "
    "split and put it in the bundle, where the split has multiword tokens.",
)
@click.option(
    "--segmenter",
    type=click.Path(dir_okay=False),
    default=None,
    help="A trained segmenter checkpoint (`postag train-segmenter`): the bundle splits raw "
    "text with it instead of the rule tokenizer, verified by the gate. 'default': "
    "artifacts/segmenter/<treebank>.pt (en-ewt.pt for EWT), trained first if missing.",
)
@data_option
@click.pass_obj
def export_cmd(
    opts: Options,
    checkpoint: str | None,
    out: str,
    name: str,
    version_: str | None,
    mwt: bool,
    segmenter: str | None,
    data: str | None,
) -> None:
    """Export a checkpoint to a verified bundle: ONNX fp32 + int8, TorchScript,
    vocabularies, how it splits raw text (rules + multiword-token lexicon, or a trained
    segmenter), manifest, model card. Fails (and writes nothing) if any check fails."""
    use_torch(opts)
    from postag.bundle import metric_key
    from postag.cli.tag import pct
    from postag.contract import HEAD_NAMES
    from postag.data import read_conllu
    from postag.export.bundle import SplitterSpec, build_bundle
    from postag.layout import MODEL_FILES
    from postag.mwt import MwtLexicon

    path = Path(checkpoint) if checkpoint else DEFAULT_CKPT_DIR / "default.pt"
    if not path.exists():
        if checkpoint:
            raise click.ClickException(f"{path}: no such checkpoint")
        opts.echo(f"no checkpoint at {path}: training the default model first")
        train_and_report(opts, "default", data, path, {})
    corpus = export_corpus(opts, path, data)
    opts.echo(corpus.describe())
    dev = read_conllu(corpus.path("dev"))
    test = read_conllu(corpus.path("test")) if "test" in corpus.files else None
    train = read_conllu(corpus.path("train"))
    if segmenter == "default":
        segmenter = str(default_segmenter(opts, corpus))
    elif segmenter is not None and not Path(segmenter).is_file():
        raise click.ClickException(f"{segmenter}: no such segmenter checkpoint")
    lexicon = MwtLexicon.learn_files([corpus.path("train")]) if mwt and not segmenter else None
    if lexicon is not None and not len(lexicon):
        opts.echo("note: the training split has no multiword tokens; no lexicon", err=True)
        lexicon = None
    res = build_bundle(
        path,
        out,
        dev,
        test,
        train,
        name=name,
        version=version_,
        threads=opts.threads,
        log=opts.echo,
        splitter=SplitterSpec(lexicon, Path(segmenter) if segmenter else None),
        splitter_gold=corpus.path("test") if test is not None else corpus.path("dev"),
    )
    m = res.manifest
    click.echo(f"\nbundle: {res.path}  ({res.seconds:.1f}s)")
    for fname in MODEL_FILES:
        if fname not in m["files"]:
            continue
        click.echo(f"  {fname:<22} {m['files'][fname]['bytes'] / 1e6:7.2f} MB")
    for backend, v in m["validation"]["backends"].items():
        diff = "" if v["max_abs_diff"] is None else f"max|Δ| {v['max_abs_diff']:.2e}  "
        click.echo(f"  {backend:<22} {diff}{v['checks'] - v['failed']}/{v['checks']} checks")
    heads = [h for h in HEAD_NAMES if h == "upos" or h in m.get("labels", {})]
    for label, values in {"pytorch": m["metrics"], **m["evaluation"]}.items():
        cells = [
            f"{HEAD_NAMES[h]} {pct(values.get(metric_key('dev', h)))}/"
            f"{pct(values.get(metric_key('test', h)))}"
            for h in heads
        ]
        click.echo(f"  accuracy dev/test: {label:<15} " + "  ".join(cells))


def default_segmenter(opts: Options, corpus: Corpus) -> Path:
    """``artifacts/segmenter/<treebank>.pt`` of the corpus, trained first (default
    settings, the same seed) when it is not there."""
    from postag.export.segment.config import SegmenterConfig
    from postag.export.segment.trainer import train_segmenter, treebank_name

    train, dev = corpus.path("train"), corpus.path("dev")
    path = Path("artifacts") / "segmenter" / f"{treebank_name(train).replace('_', '-')}.pt"
    if not path.is_file():
        opts.echo(f"no segmenter at {path}: training it first")
        path.parent.mkdir(parents=True, exist_ok=True)
        cfg = SegmenterConfig(threads=opts.threads or 1)
        train_segmenter((train, dev), cfg, path, log=opts.echo)
    return path


@click.command()
@click.argument("bundle", type=click.Path())
@bundle_checkpoint_option
@data_option
@click.pass_obj
def verify(opts: Options, bundle: str, checkpoint: str | None, data: str | None) -> None:
    """Re-run the export's verification gate on BUNDLE: the same checks, re-measured
    (PyTorch vs TorchScript vs onnxruntime on the recorded sample, declared shapes, model
    identity, int8 accuracy on the corpus split the export scored), one ✓/✗ line per
    check and the verdict; exits non-zero on any ✗."""
    use_torch(opts)
    from postag.export.gate import verify_bundle

    report = verify_bundle(bundle, checkpoint, data, threads=opts.threads, log=click.echo)
    if not report.ok:
        raise click.ClickException(report.verdict())


@click.command()
@click.argument("bundle", type=click.Path())
@bundle_checkpoint_option
@click.option(
    "--split",
    default="test",
    show_default=True,
    help="Corpus split (train/dev/test) or a CoNLL-U file to compare on.",
)
@data_option
@report_dir_option("artifacts/parity", "parity.json and parity.md")
@click.pass_obj
def parity(
    opts: Options, bundle: str, checkpoint: str | None, split: str, data: str | None, out: str
) -> None:
    """Compare every backend of BUNDLE (TorchScript, ONNX fp32/int8 on CPU, ONNX on CUDA
    when available) with eager PyTorch over a whole corpus split; write a report."""
    use_torch(opts)
    from postag.bundle import load_manifest
    from postag.data import read_conllu
    from postag.export.backends import bundle_backends, cuda_available
    from postag.export.bundle import bundle_checkpoint
    from postag.export.parity import compare_backends, markdown_table, write_report
    from postag.export.train.checkpoint import Checkpoint

    man = load_manifest(bundle)
    ckpt_path = bundle_checkpoint(man, checkpoint)
    ckpt = Checkpoint.load(ckpt_path)
    path = corpus_file(data, split)
    sentences = [s.words for s in read_conllu(path)]
    backends = bundle_backends(man.root, man.contract, opts.threads, cuda=cuda_available())
    results = compare_backends(ckpt.model(), man.encoder(), backends, sentences, man.contract)
    title = f"Parity vs PyTorch eager: {man.name} {man.version} on {path.name}"
    j, m = write_report(results, out, title, {"bundle": str(man.root), "file": str(path)})
    click.echo(markdown_table(results, title))
    click.echo(f"report: {j}, {m}")
    failed = [f"{n} ({r['gate']})" for n, r in results.items() if not r["ok"]]
    if failed:
        raise click.ClickException(f"parity failed for: {'; '.join(failed)}")


@click.command()
@click.argument("bundle", type=click.Path(), default=DEFAULT_BUNDLE)
@bundle_checkpoint_option
@click.option(
    "--seed-checkpoint",
    type=click.Path(dir_okay=False),
    default=str(DEFAULT_CKPT_DIR / "seed.pt"),
    show_default=True,
    help="The seed preset's checkpoint, benchmarked as a baseline row when present.",
)
@click.option(
    "--split",
    default="test",
    show_default=True,
    help="Corpus split or CoNLL-U file whose sentences are tagged.",
)
@data_option
@click.option(
    "--sentences",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="How many sentences of the split to use.",
)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--size-sweep",
    default="",
    metavar="H1,H2,…",
    help="Also time fast graphs with these sentence-LSTM hidden sizes (random weights): "
    "what model size meets a latency target.",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Another bundle (e.g. the previous default) whose onnxruntime backends are "
    "measured in the same run beside this bundle's (order A B B A): before/after rows.",
)
@report_dir_option("artifacts/bench", "bench.json, bench.md and the PNG plots")
@click.pass_obj
def bench(
    opts: Options,
    bundle: str,
    checkpoint: str | None,
    seed_checkpoint: str,
    split: str,
    data: str | None,
    sentences: int,
    repeats: int,
    size_sweep: str,
    baseline: str | None,
    out: str,
) -> None:
    """Benchmark every backend of BUNDLE side by side: throughput, latency, peak memory,
    cold start, sizes and the roofline. Prints the table; writes JSON, markdown, PNGs."""
    use_torch(opts)
    from postag.bundle import load_manifest
    from postag.export.backends import cuda_available
    from postag.export.bench.suite import markdown, run_bench
    from postag.export.bundle import bundle_checkpoint

    try:
        sweep = [int(h) for h in size_sweep.split(",") if h.strip()]
    except ValueError:
        raise click.BadParameter(f"{size_sweep!r}: a comma-separated list of integers") from None
    if any(h < 1 for h in sweep):
        raise click.BadParameter("hidden sizes must be positive")
    man = load_manifest(bundle)
    report = run_bench(
        man.root,
        bundle_checkpoint(man, checkpoint),
        Path(seed_checkpoint),
        corpus_file(data, split),
        sentences,
        opts.threads,
        repeats,
        Path(out),
        cuda_available(),
        log=opts.echo,
        sweep=sweep,
        baseline=load_manifest(baseline).root if baseline else None,
    )
    click.echo(markdown(report))
    click.echo(
        f"report: {Path(out) / 'bench.json'}, {Path(out) / 'bench.md'}, "
        + ", ".join(report["plots"])
    )
