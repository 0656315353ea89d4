"""The bad-input tables: what a user can get wrong, per verb, and the one line senet answers with.

Each CLI case is ``(class, argv, expected)``: ``argv`` may name the prepared files ``{run}`` (a finished
tiny run), ``{ck}`` (its checkpoint_last.pt), ``{weights}`` (its model.safetensors), ``{text}`` (a text
file), ``{folder}`` (an image folder), ``{tmp}`` (an empty directory), ``{unreadable}`` (a run directory
whose checkpoints are damaged), ``{bare}`` (a run directory with files but no checkpoint), ``{nockpt}`` (a
finished run whose checkpoints were deleted), ``{se_run}`` (a run of an SE model with other SE options),
``{badcard}``, ``{dupcard}`` and ``{shortcard}`` (the run's weights with a card that is not JSON, repeats
a class name, or names 3 of its 10 classes); ``"env:NAME=VALUE"`` items before the verb set a variable. ``expected`` is a regular expression the single stderr line
must match. ``tests/test_bad_input.py`` runs them; ``docs/reliability.md`` shows the counts per class
(``SENET_REGEN_DOCS=1 pytest tests/test_bad_input.py`` rewrites that table).
"""

# The prepared run: resnet20_cifar on synthetic data, recipe digits (cosine), batch 32, 1 epoch of 2 batches.
RUN = ["--model", "resnet20_cifar", "--data", "synthetic", "--batch-size", "32", "--epochs", "1"]
TINY = ["--max-batches", "2", "--workers", "0", "--no-progress", "--no-tensorboard"]
RESUME = ["train", *RUN, *TINY, "--out", "{run}", "--resume", "auto"]


def swap(argv: list[str], flag: str, value: str) -> list[str]:
    """``argv`` with the value after ``flag`` replaced."""
    i = argv.index(flag)
    return [*argv[: i + 1], value, *argv[i + 2 :]]


CLI = [
    # --- a run directory that guards itself; resume with the run's settings ---------------------------
    ("run directory", ["train", *RUN, *TINY, "--out", "{run}"], r"already holds a run .*--resume auto"),
    ("run directory", ["train", *RUN, *TINY, "--out", "{text}"], r"is a file, not a directory"),
    (
        "run directory",
        ["train", *RUN, *TINY, "--out", "{unreadable}", "--resume", "auto"],
        r"every checkpoint .* is unreadable",
    ),
    (
        "run directory",
        ["train", *RUN, *TINY, "--out", "{bare}", "--resume", "auto"],
        r"no checkpoint to continue from",
    ),
    (
        "run directory",
        ["train", *RUN, *TINY, "--out", "{nockpt}"],
        r"already holds a run \(model.safetensors, summary.json",
    ),
    (
        "run directory",
        ["train", *RUN, *TINY, "--out", "{nockpt}", "--resume", "auto"],
        r"holds model.safetensors, summary.json.* but no checkpoint",
    ),
    (
        "run directory",
        ["train", *RUN, *TINY, "--out", "{tmp}/r", "--resume", "{text}"],
        r"not a PyTorch checkpoint",
    ),
    ("resume settings", [*RESUME, "--lr", "0.5"], r"other settings: lr 0\.025 -> 0\.5"),
    ("resume settings", [*RESUME, "--weight-decay", "0.01"], r"other settings: weight_decay"),
    ("resume settings", swap(RESUME, "--batch-size", "64"), r"other settings: batch_size 32 -> 64"),
    ("resume settings", [*RESUME, "--amp", "fp16"], r"other settings: amp None -> 'fp16'"),
    ("resume settings", [*RESUME, "--seed", "3"], r"other settings: seed 0 -> 3"),
    ("resume settings", [*RESUME, "--label-smoothing", "0.1"], r"other settings: label_smoothing"),
    (
        "resume settings",
        [*RESUME, "--recipe", "cifar-resnet"],
        r"other settings: recipe 'digits' -> 'cifar-resnet'",
    ),
    ("resume settings", swap(RESUME, "--max-batches", "3"), r"other settings: max_batches 2 -> 3"),
    ("resume settings", swap(RESUME, "--epochs", "3"), r"epochs 1 -> 3: the cosine schedule's shape depends"),
    ("resume settings", [*RESUME, "--accum-steps", "2"], r"other settings: .*accum_steps 1 -> 2"),
    ("resume settings", [*RESUME, "--class-balanced"], r"other settings: class_balanced False -> True"),
    # --- values -------------------------------------------------------------------------------------
    ("bad value", ["train", *RUN, "--lr", "inf", "--out", "{tmp}/r"], r"lr must be a finite number"),
    (
        "bad value",
        ["eval", "--model", "resnet20_cifar", "--scales", "32,x"],
        r"scales must be comma-separated",
    ),
    (
        "bad value",
        ["eval", "--model", "resnet20_cifar", "--scales", "28"],
        r"crop 32 is larger than scale 28",
    ),
    ("bad value", ["eval", "--model", "resnet20_cifar", "--crops", "10", "--flip"], r"use --crops 5 --flip"),
    (
        "bad value",
        ["eval", "--model", "resnet20_cifar", "--fully-convolutional", "--crops", "3"],
        r"takes no --crops",
    ),
    ("bad value", ["eval", "--model", "resnet20_cifar", "--scales", "32", "--ten-crop"], r"use --crops 10"),
    ("bad value", ["train", *RUN, "--lr", "-1", "--out", "{tmp}/r"], r"lr must be in \(0, inf\)"),
    ("bad value", ["train", *RUN, "--lr", "0", "--out", "{tmp}/r"], r"lr must be in \(0, inf\)"),
    (
        "bad value",
        ["train", *RUN, "--weight-decay", "-1", "--out", "{tmp}/r"],
        r"weight_decay must be in \[0, inf\)",
    ),
    (
        "bad value",
        ["train", *RUN, "--weight-decay", "nan", "--out", "{tmp}/r"],
        r"weight_decay must be a finite number",
    ),
    (
        "bad value",
        ["train", *RUN, "--label-smoothing", "1.5", "--out", "{tmp}/r"],
        r"label_smoothing must be in \[0, 1\)",
    ),
    (
        "bad value",
        ["train", *swap(RUN, "--epochs", "0"), "--out", "{tmp}/r"],
        r"epochs must be a positive integer",
    ),
    (
        "bad value",
        ["train", *swap(RUN, "--batch-size", "0"), "--out", "{tmp}/r"],
        r"batch_size must be a positive integer",
    ),
    (
        "bad value",
        ["train", *RUN, "--workers", "-1", "--out", "{tmp}/r"],
        r"workers must be an integer in \[0, 1024\)",
    ),
    (
        "bad value",
        ["train", *RUN, "--max-batches", "0", "--out", "{tmp}/r"],
        r"max_batches must be a positive",
    ),
    (
        "bad value",
        ["train", *RUN, "--accum-steps", "3", "--out", "{tmp}/r"],
        r"not divisible by 1 processes x 3",
    ),
    ("bad value", ["train", *RUN, "--lr", "abc", "--out", "{tmp}/r"], r"invalid float value: 'abc'"),
    ("bad value", ["train", *RUN, "--amp", "fp8", "--out", "{tmp}/r"], r"invalid choice: 'fp8'"),
    (
        "bad value",
        ["eval", "--model", "resnet20_cifar", "--data", "synthetic", "--batch-size", "0"],
        r"batch_size must be an integer >= 1",
    ),
    (
        "bad value",
        ["bench", "--models", "resnet20_cifar", "--threads", "0"],
        r"threads must be a positive integer",
    ),
    ("bad value", ["bench", "--models", "resnet20_cifar", "--iters", "1"], r"iters must be an integer >= 2"),
    (
        "bad value",
        ["bench", "--models", "resnet20_cifar", "--batch-size", "0"],
        r"batch_size must be an integer >= 1",
    ),
    (
        "bad value",
        [
            "excitations",
            "--model",
            "se_resnet20_cifar",
            "--data",
            "synthetic",
            "--samples",
            "0",
            "--out",
            "{tmp}/x",
        ],
        r"samples must be a positive integer",
    ),
    (
        "bad value",
        ["export", "resnet20_cifar", "--format", "onnx", "--out", "{tmp}/m.onnx", "--size", "4"],
        r"size must be an integer of at least",
    ),
    (
        "bad value",
        ["complexity", "resnet20_cifar", "--size", "2"],
        r"input size must be an integer of at least 8",
    ),
    ("bad value", ["ablate", "--table", "99", "--model", "se_resnet20_cifar", "--out", "{tmp}/s"], r"99"),
    # --- devices ------------------------------------------------------------------------------------
    ("device", ["train", *RUN, "--device", "foo", "--out", "{tmp}/r"], r"unknown device 'foo'"),
    ("device", ["train", *RUN, "--device", "cuda", "--out", "{tmp}/r"], r"CUDA is not available|GPU"),
    ("device", ["train", *RUN, "--device", "mps", "--out", "{tmp}/r"], r"not supported|not available"),
    (
        "device",
        ["eval", "--model", "resnet20_cifar", "--data", "synthetic", "--device", "foo"],
        r"unknown device 'foo'",
    ),
    ("device", ["bench", "--models", "resnet20_cifar", "--device", "foo"], r"unknown device 'foo'"),
    (
        "device",
        [
            "excitations",
            "--model",
            "se_resnet20_cifar",
            "--data",
            "synthetic",
            "--device",
            "foo",
            "--out",
            "{tmp}/x",
        ],
        r"unknown device 'foo'",
    ),
    # --- names --------------------------------------------------------------------------------------
    (
        "bad name",
        ["train", "--model", "se_resnet5", "--out", "{tmp}/r"],
        r"unknown model 'se_resnet5'; did you mean",
    ),
    ("bad name", ["train", *RUN, "--data", "mnist", "--out", "{tmp}/r"], r"unknown data 'mnist'"),
    ("bad name", ["train", *RUN, "--recipe", "fast", "--out", "{tmp}/r"], r"fast"),
    (
        "bad name",
        ["train", "--model", "resnet20_cifar", "--reduction", "4", "--out", "{tmp}/r"],
        r"has no SE blocks.*se_resnet20_cifar",
    ),
    (
        "bad name",
        ["train", "--model", "se_mobilenet", "--placement", "pre", "--out", "{tmp}/r"],
        r"placement='pre' is not allowed",
    ),
    ("bad name", ["bench", "--models", "timm:nosuch_net"], r"timm:nosuch_net"),
    ("bad name", ["bench", "--models", "nosuch"], r"unknown model 'nosuch'"),
    ("bad name", ["list", "["], r"no model matches '\['"),
    ("bad name", ["list", "zz*"], r"no model matches 'zz\*'"),
    (
        "bad name",
        ["export", "resnet20_cifar", "--format", "tf", "--out", "{tmp}/m.tf"],
        r"format='tf' is not allowed",
    ),
    ("bad name", ["complexity", "nosuch"], r"unknown model 'nosuch'"),
    ("bad name", ["nosuchverb"], r"invalid choice: 'nosuchverb'"),
    # --- data ---------------------------------------------------------------------------------------
    ("data", ["train", *RUN, "--data", "imagefolder:{tmp}/missing", "--out", "{tmp}/r"], r"does not exist"),
    ("data", ["train", *RUN, "--data", "imagefolder:{tmp}", "--out", "{tmp}/r"], r"has no train/ folder"),
    ("data", ["train", *RUN, "--data", "cifar10:{tmp}", "--out", "{tmp}/r"], r"cifar-10-batches-py"),
    (
        "data",
        [
            "train",
            "--model",
            "resnet20_cifar",
            "--data",
            "digits",
            "--image-size",
            "64",
            *TINY,
            "--out",
            "{tmp}/r",
        ],
        r"check --image-size",
    ),
    (
        "data",
        ["eval", "--model", "resnet20_cifar", "--data", "imagefolder:{text}"],
        r"is a file, not a directory",
    ),
    # --- files in, files out ------------------------------------------------------------------------
    (
        "weights file",
        ["eval", "--model", "resnet20_cifar", "--checkpoint", "{text}", "--data", "synthetic"],
        r"not a PyTorch checkpoint",
    ),
    (
        "weights file",
        ["eval", "--model", "resnet20_cifar", "--checkpoint", "{tmp}/missing.pt", "--data", "synthetic"],
        r"does not exist",
    ),
    (
        "weights file",
        ["eval", "--model", "se_resnet20_cifar", "--checkpoint", "{weights}", "--data", "synthetic"],
        r"holds resnet20_cifar weights, not se_resnet20_cifar",
    ),
    (
        "weights file",
        [
            "eval",
            "--model",
            "se_resnet20_cifar",
            "--checkpoint",
            "{se_run}/model.safetensors",
            "--squeeze",
            "avg",
            "--data",
            "synthetic",
            "--workers",
            "0",
        ],
        r"was built with .*squeeze='max'.*--squeeze max",
    ),
    (
        "weights file",
        ["eval", "--model", "resnet32_cifar", "--checkpoint", "{ck}", "--data", "synthetic"],
        r"resnet20_cifar",
    ),
    (
        "weights file",
        ["convert", "{text}", "{tmp}/w.safetensors", "--model", "resnet20_cifar"],
        r"not a PyTorch checkpoint",
    ),
    (
        "weights file",
        ["convert", "{weights}", "{tmp}/w.safetensors", "--model", "resnet32_cifar"],
        r"holds resnet20_cifar weights",
    ),
    ("output", ["convert", "{weights}", "{weights}", "--model", "resnet20_cifar"], r"is the input"),
    ("output", ["convert", "{ck}", "{tmp}/w.pt", "--model", "resnet20_cifar"], r"\.safetensors file"),
    ("output", ["convert", "{ck}", "{tmp}", "--model", "resnet20_cifar"], r"is a directory"),
    (
        "output",
        ["export", "resnet20_cifar", "--checkpoint", "{ck}", "--format", "torchscript", "--out", "{ck}"],
        r"is the input",
    ),
    ("output", ["export", "resnet20_cifar", "--format", "onnx", "--out", "{tmp}/m.pt"], r"\.onnx file"),
    ("output", ["export", "resnet20_cifar", "--format", "onnx", "--out", "{tmp}"], r"is a directory"),
    (
        "output",
        ["export", "resnet20_cifar", "--format", "onnx", "--out", "{tmp}/no/such/m.onnx"],
        r"does not exist",
    ),
    ("output", ["train", *RUN, *TINY, "--out", "{text}/sub"], r"Not a directory|is a file"),
    (
        "output",
        ["quantize", "--checkpoint", "{weights}", "--data", "synthetic", "--out", "{tmp}/m.pt2"],
        r"\.onnx file",
    ),
    (
        "output",
        ["quantize", "--checkpoint", "{weights}", "--data", "synthetic", "--out", "{weights}"],
        r"is the input|\.onnx file",
    ),
    (
        "bad value",
        ["quantize", "--checkpoint", "{weights}", "--data", "synthetic", "--calib", "0"],
        r"calib must be an integer >= 1",
    ),
    (
        "bad value",
        ["quantize", "--checkpoint", "{weights}", "--data", "synthetic", "--calib", "99999"],
        r"the training split has",
    ),
    (
        "bad value",
        ["quantize", "--checkpoint", "{weights}", "--data", "synthetic", "--backend", "tflite"],
        r"invalid choice",
    ),
    (
        "bad value",
        ["quantize", "--checkpoint", "{weights}", "--data", "synthetic", "--threads", "0"],
        r"threads must be a positive integer",
    ),
    ("bad value", ["bench", "--models", "int8:resnet20_cifar", "--mode", "train"], r"inference only"),
    ("bad value", ["bench", "--models", "ort-int8[bits=4]:resnet20_cifar"], r"unknown option 'bits'"),
    (
        "output",
        [
            "bench",
            "--models",
            "resnet20_cifar",
            "--iters",
            "2",
            "--warmup",
            "0",
            "--size",
            "16",
            "--output",
            "{tmp}",
        ],
        r"Is a directory|is a directory",
    ),
    # --- analyses -----------------------------------------------------------------------------------
    (
        "analysis",
        ["excitations", "--model", "resnet20_cifar", "--data", "synthetic", "--out", "{tmp}/x"],
        r"has no SE blocks",
    ),
    (
        "analysis",
        [
            "excitations",
            "--model",
            "se_resnet20_cifar",
            "--checkpoint",
            "{run}/model.safetensors",
            "--data",
            "synthetic",
            "--out",
            "{tmp}/x",
        ],
        r"resnet20_cifar",
    ),
    ("analysis", ["report", "{tmp}/missing"], r"missing"),
    ("analysis", ["report", "{tmp}"], r"nothing to show in"),
]

CLI += [
    # --- found by a red-team pass ----------------------------------------------------------------------
    (
        "run directory",
        ["train", *RUN, *TINY, "--out", "{run}", "--resume", "{se_run}/checkpoint_last.pt"],
        r"holds another run",
    ),
    (
        "run directory",
        ["train", *RUN, *TINY, "--out", "{tmp}/r", "--resume", "{run}"],
        r"is a directory; give a checkpoint file",
    ),
    ("output", ["report", "{run}", "--out", "{run}/summary.json"], r"\.html file"),
    (
        "output",
        ["bench", "--models", "resnet20_cifar", "--output", "{run}/model.safetensors"],
        r"\.json file",
    ),
    (
        "output",
        ["export", "resnet20_cifar", "--format", "torchscript", "--out", "{run}/checkpoint_best.pt"],
        r"a file of a training run",
    ),
    (
        "output",
        ["excitations", "--model", "se_resnet20_cifar", "--data", "synthetic", "--out", "{text}"],
        r"is a file; the analysis writes a directory",
    ),
    (
        "weights file",
        ["eval", "--checkpoint", "{ck}", "--data", "digits", "--workers", "0"],
        r"trained on the classes \['class0'",
    ),
    (
        "bad value",
        ["train", *RUN, "--seed", "99999999999999999999", "--out", "{tmp}/r"],
        r"seed must be an integer in \[0, 2147483648\)",
    ),
    ("bad value", ["train", *RUN, "--lr", "1e300", "--out", "{tmp}/r"], r"lr must be in \(0, inf\)"),
    (
        "bad value",
        ["export", "resnet20_cifar", "--format", "onnx", "--out", "{tmp}/m.onnx", "--opset", "1"],
        r"opset must be an integer from 18 to \d+",
    ),
    (
        "bad value",
        ["complexity", "resnet20_cifar", "--size", "0"],
        r"input size must be an integer of at least 8",
    ),
    ("bad value", ["demo", "--threads", "0", "--out", "{tmp}/d"], r"--threads: must be a positive integer"),
    (
        "bad name",
        ["train", "--model", "resnet20_cifar", "--layout", "torchvision", "--out", "{tmp}/r"],
        r"does not take \['layout'\]",
    ),
    ("predict", ["predict", "--model", "resnet20_cifar"], r"no images given"),
    ("predict", ["predict", "--model", "resnet20_cifar", "--top-k", "0", "{text}"], r"top.k"),
    (
        "predict",
        ["predict", "--model", "resnet20_cifar", "--checkpoint", "{weights}", "--pretrained", "{text}"],
        r".",
    ),
    ("data", ["train", *RUN[:2], "--data", "digits:/x", "--out", "{tmp}/r"], r"built in and takes no path"),
    ("data", ["train", *RUN[:2], "--data", "synthetic:1", "--out", "{tmp}/r"], r"from 2 to 1000"),
    ("fine-tuning", ["train", *RUN[:2], "--freeze-backbone", "--out", "{tmp}/r"], r"give --init"),
    (
        "fine-tuning",
        ["train", "--data", "synthetic", *TINY, "--out", "{tmp}/r"],
        r"required: --model \(or --init MODEL\.TAG",
    ),
    (
        "fine-tuning",
        ["train", *RUN, *TINY, "--init", "resnet50.tv_in1k", "--out", "{tmp}/r"],
        r"--init resnet50\.tv_in1k holds resnet50 weights, not resnet20_cifar; give --model resnet50",
    ),
    (
        "fine-tuning",
        ["train", *RUN[:2], "--init", "pretrained", "--out", "{tmp}/r"],
        r"no pretrained weights for",
    ),
    (
        "fine-tuning",
        [
            "train",
            "--model",
            "resnet50",
            "--init",
            "pretrained:tv_in1k",
            "--layout",
            "official",
            "--out",
            "{tmp}/r",
        ],
        r"needs layout='torchvision'",
    ),
    (
        "data",
        ["train", *RUN[:2], "--data", "synthetic:foo", "--out", "{tmp}/r"],
        r"synthetic:N takes a number of classes",
    ),
    (
        "device",
        ["eval", "--model", "resnet20_cifar", "--data", "synthetic", "--device", "cpu:5"],
        r"the CPU is one device",
    ),
]

CLI += [
    # --- issue 22: environment variables, weight cards, messages that pointed the wrong way -------------
    (
        "environment",
        ["env:SENET_WEIGHTS_BASE_URL=notaurl", "eval", "--model", "resnet18", "--pretrained", "tv_in1k"],
        r"SENET_WEIGHTS_BASE_URL='notaurl' is not a URL: set it to http",
    ),
    (
        "environment",
        ["env:HF_ENDPOINT=mirror.local", "eval", "--model", "se_resnet50", "--pretrained", "timm_a1_in1k"],
        r"HF_ENDPOINT='mirror.local' is not a URL",
    ),
    (
        "environment",
        ["env:RANK=first", "env:WORLD_SIZE=1", "train", *RUN, *TINY, "--out", "{tmp}/r"],
        r"RANK='first' is not a non-negative integer",
    ),
    (
        "weight card",
        ["predict", "--checkpoint", "{badcard}", "{text}"],
        r"badcard.safetensors: its senet card .* is not valid JSON",
    ),
    ("weight card", ["predict", "--checkpoint", "{dupcard}", "{text}"], r"class names repeat 'same'"),
    (
        "weight card",
        ["eval", "--checkpoint", "{shortcard}", "--data", "synthetic", "--workers", "0"],
        r"3 class names for 10 classes",
    ),
    (
        "misleading message",
        ["eval", "--model", "resnet20_cifar", "--epochs", "3"],
        r"^senet eval: error: senet eval has no option --epochs \(.*`senet train` have it",
    ),
    (
        "misleading message",
        ["predict", "--model", "resnet20_cifar", "--lr", "0.1", "{text}"],
        r"^senet predict: error: senet predict has no option --lr \(.*`senet train` have it",
    ),
    (
        "misleading message",
        ["eval", "--model", "resnet20_cifar", "--chekpoint", "{ck}"],
        r"has no option --chekpoint; did you mean --checkpoint",
    ),
    (
        "misleading message",
        ["train", *RUN, *TINY, "--data", "imagefolder:{text}", "--out", "{tmp}/r"],
        r"data directory .*text.txt' is a file, not a directory",
    ),
    (
        "misleading message",
        ["export", "resnet20_cifar", "--format", "onnx", "--out", "{text}/m.onnx"],
        r"cannot write .*text.txt' is a file, not a directory",
    ),
    # --- issue 22: recipe fields set by name (--set) are checked as their flags are ----------------------
    (
        "recipe field",
        ["train", *RUN, "--set", "lr=-1", "--out", "{tmp}/r"],
        r"--set lr=-1: lr must be in \(0, inf\)",
    ),
    (
        "recipe field",
        ["train", *RUN, "--set", "weight_decay=-0.001", "--out", "{tmp}/r"],
        r"weight_decay must be in \[0, inf\)",
    ),
    (
        "recipe field",
        ["train", *RUN, "--set", "epochs=0", "--out", "{tmp}/r"],
        r"epochs must be a positive integer",
    ),
    (
        "recipe field",
        ["train", *RUN, "--set", "ref_batch=0", "--out", "{tmp}/r"],
        r"ref_batch must be a positive",
    ),
    (
        "recipe field",
        ["train", *RUN, "--set", "momentum=1.5", "--out", "{tmp}/r"],
        r"momentum must be in \[0, 1\)",
    ),
    (
        "recipe field",
        ["train", *RUN, "--set", "crop_scale=1,0.2", "--out", "{tmp}/r"],
        r"crop_scale must be 2 numbers in \(0, 1\], the smaller first",
    ),
    (
        "recipe field",
        ["train", *RUN, "--set", "warmup_epochs=5", "--out", "{tmp}/r"],
        r"warmup_epochs=5 is not shorter than the run \(1 epoch",
    ),
    ("recipe field", ["train", *RUN, "--set", "gamma=0", "--out", "{tmp}/r"], r"gamma must be in \(0, 1\]"),
    (
        "recipe field",
        ["train", *RUN, "--set", "plateau_patience=-1", "--out", "{tmp}/r"],
        r"plateau_patience must be an integer >= 0",
    ),
    (
        "recipe field",
        ["train", *RUN, "--set", "freeze_bn_epochs=-1", "--out", "{tmp}/r"],
        r"freeze_bn_epochs must be an integer >= 0",
    ),
    (
        "recipe field",
        ["train", *RUN, "--set", "step_epochs=0", "--out", "{tmp}/r"],
        r"step_epochs must be a positive",
    ),
    # --- issue 22: a data set or a size that cannot measure anything -----------------------------------
    (
        "nothing to measure",
        ["train", *RUN[:2], "--data", "imagefolder:{folder}", "--out", "{tmp}/r"],
        r"holds 1 class \('only'\); .*at least 2 classes",
    ),
    (
        "nothing to measure",
        ["eval", "--model", "resnet20_cifar", "--data", "imagefolder:{folder}", "--workers", "0"],
        r"at least 2 classes",
    ),
    (
        "nothing to measure",
        ["train", *RUN, "--image-size", "1", "--out", "{tmp}/r"],
        r"--image-size 1 is below resnet20_cifar's smallest input, 32 px",
    ),
    # --- issue 22: numeric options of the other verbs ---------------------------------------------------
    (
        "bad value",
        ["export", "resnet20_cifar", "--format", "onnx", "--out", "{tmp}/m.onnx", "--opset", "99999"],
        r"opset must be an integer from 18 to \d+ \(the installed",
    ),
    (
        "nothing to measure",
        ["bench", "--models", "resnet20_cifar", "--size", "1", "--iters", "2", "--warmup", "0"],
        r"size 1 is below resnet20_cifar's smallest input, 32 px",
    ),
]

# Library calls with wrong types or values: (class, call, expected); each must raise SenetError.
CLI += [
    # --- SE for any CNN (issue 16): torchvision:NAME and --add-se ------------------------------------------
    (
        "bad name",
        ["train", "--model", "torchvision:vgg16_bm", "--out", "{tmp}/r"],
        r"unknown torchvision model 'vgg16_bm'; did you mean torchvision:vgg16_bn",
    ),
    (
        "bad name",
        ["train", "--model", "torchvision:vgg11", "--reduction", "8", "--out", "{tmp}/r"],
        r"has no SE blocks.*pass add_se=True \(--add-se\)",
    ),
    (
        "bad value",
        ["train", *swap(RUN, "--model", "torchvision:efficientnet_b0"), "--add-se", "--out", "{tmp}/r"],
        r"already has SE blocks in every place add_se would use",
    ),
    (
        "bad value",
        [
            "train",
            *swap(RUN, "--model", "torchvision:mobilenet_v2"),
            "--add-se",
            "--se-where",
            "classifier.*",
            "--out",
            "{tmp}/r",
        ],
        r"where=\['classifier\.\*'\] match none of MobileNetV2's 17 SE places",
    ),
]

LIBRARY = [
    ("library", "senet.create_model(None)", r"must be a string"),
    (
        "library",
        "senet.create_model('se_resnet50', num_classes=True)",
        r"num_classes must be a positive integer",
    ),
    (
        "library",
        "senet.create_model('se_resnet50', num_classes=0)",
        r"num_classes must be a positive integer",
    ),
    ("library", "senet.create_model('se_resnet50', reduction='16')", r"reduction must be a positive integer"),
    ("library", "senet.create_model('se_resnet50', stages='2,3')", r"stages must be stage numbers"),
    ("library", "senet.create_model('se_resnet50', bias='no')", r"bias must be True or False"),
    ("library", "senet.save_weights(senet.create_model('resnet20_cifar'), TMP)", r"\.safetensors|directory"),
    (
        "library",
        "senet.save_weights(senet.create_model('resnet20_cifar'), TMP + '/w.pt')",
        r"\.safetensors name",
    ),
    ("library", "senet.save_weights(None, TMP + '/w.safetensors')", r"needs a model or a state_dict"),
    (
        "library",
        "senet.load_weights(senet.create_model('resnet20_cifar'), TMP + '/none.pt')",
        r"does not exist",
    ),
    ("library", "senet.train(model='resnet20_cifar', lr=float('nan'))", r"lr must be a finite number"),
    ("library", "senet.train(model='resnet20_cifar', workers='2')", r"workers must be an integer"),
    ("library", "senet.train(model='resnet20_cifar', colour=1)", r"unknown training options \['colour'\]"),
    (
        "library",
        "senet.evaluate('resnet20_cifar', data='synthetic', batch_size='a')",
        r"batch_size must be an integer",
    ),
    ("library", "senet.bench('resnet20_cifar', iters='x')", r"iters must be an integer"),
    ("library", "senet.add_se(None)", r"needs a torch.nn.Module"),
    (
        "library",
        "senet.add_se(senet.create_model('torchvision:mobilenet_v2'), where=3)",
        r"where= takes module-name patterns",
    ),
    (
        "library",
        "senet.add_se(senet.create_model('torchvision:mobilenet_v2'), placement='identity')",
        r"standard or post in a graph, not 'identity'",
    ),
    (
        "library",
        "senet.create_model('torchvision:mobilenet_v2', add_se='yes')",
        r"add_se must be True or False",
    ),
    ("library", "senet.export(None, TMP + '/m.onnx')", r"model name or a torch.nn.Module"),
    ("library", "senet.complexity('resnet50', input_size='a')", r"input size must be an integer"),
    ("library", "senet.SEConfig(placement='middle')", r"placement='middle' is not allowed"),
    ("library", "senet.train(123)", r"train needs a TrainConfig, a dict or a model name"),
    ("library", "senet.train('resnet20_cifar', data=123)", r"data must be a string"),
    (
        "library",
        "senet.evaluate('resnet20_cifar', data='synthetic', model_options='x')",
        r"model_options must be a dict",
    ),
    ("library", "senet.complexity(None)", r"complexity needs a model name or a torch.nn.Module"),
    ("library", "senet.load_weights(None, TMP + '/w.pt')", r"load_weights needs a torch.nn.Module"),
    (
        "library",
        "senet.load_weights(senet.create_model('resnet20_cifar'), 123)",
        r"a checkpoint is a path or a state_dict",
    ),
    (
        "library",
        "senet.save_weights(senet.create_model('resnet20_cifar'), 123)",
        r"the path must be a string",
    ),
    (
        "library",
        "senet.save_weights(senet.create_model('resnet20_cifar'), TMP + '/w.safetensors', classes=['a'])",
        r"1 class names for a model of 10 classes",
    ),
    ("library", "senet.export('resnet20_cifar', None)", r"an output path must be a string"),
    ("library", "senet.report(None)", r"report needs a directory path"),
    ("library", "senet.ablate(None)", r"table None does not exist"),
    (
        "weight card",
        "senet.save_weights(senet.create_model('resnet20_cifar'), TMP + '/w.safetensors', classes=['a'] * 10)",
        r"class names repeat 'a'",
    ),
]

# A stop signal that arrives while the run is being built (the data read, the model made): the run stops
# before its first step with the shell's code for the signal (128 + N), no traceback, no run directory.
# ``(class, argv, signal, exit code, expected stdout line)``; SIGINT is sent to a process that ignored it
# at its start, as a script's background job does. tests/test_bad_input.py sends the signal from inside
# the start-up (senet.engine.state.build), so the case does not depend on timing.
STOPS = [
    ("stop signal", ["train", *RUN, *TINY, "--out", "{tmp}/r"], "SIGINT", 130, r"SIGINT during start-up"),
    ("stop signal", ["train", *RUN, *TINY, "--out", "{tmp}/r"], "SIGTERM", 143, r"SIGTERM during start-up"),
]


def classes() -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, *_ in CLI + LIBRARY + STOPS:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


DESCRIPTIONS = {
    "run directory": "training into a directory that holds a run, a file, damaged or missing checkpoints",
    "resume settings": "`--resume` with a setting that changes what the run computes",
    "bad value": "out-of-range or non-finite numbers, wrong types on the command line",
    "device": "unknown devices, CUDA where there is none",
    "bad name": "unknown models, data, recipes, formats, options a model does not take, verbs",
    "data": "missing or malformed data folders, a crop that does not fit the images",
    "weights file": "files that are no checkpoint, weights of another model or built with other options",
    "output": "writing over an input, a wrong suffix, a directory or a missing one as the output",
    "analysis": "analyses of a plain model or another model's checkpoint, reports of nothing",
    "library": "library calls with wrong types or values (each raises `SenetError`)",
    "fine-tuning": "`--freeze-backbone` without `--init`, weights a model has none of, a layout they do not fit",
    "predict": "no images, unreadable images only, a bad `--top-k`",
    "environment": "environment variables that are not what they must be: a weights mirror that is no URL, "
    "a torchrun rank that is no number",
    "weight card": "hand-edited weight cards: unreadable, repeated class names, fewer names than outputs",
    "misleading message": "an option of another verb or a misspelt one, a file where a directory belongs",
    "recipe field": "`--set KEY=VALUE` out of the field's range, fields that disagree (a warm-up longer than the run)",
    "nothing to measure": "one class, an image size below the model's smallest input",
    "stop signal": "SIGINT (also when ignored at start) or SIGTERM while the run is being built: exit 130/143",
}


def markdown_table() -> str:
    rows = ["| class | what is tried | cases |", "|---|---|---|"]
    rows += [f"| {k} | {DESCRIPTIONS[k]} | {n} |" for k, n in classes().items()]
    rows.append(f"| **all** | | **{sum(classes().values())}** |")
    return "\n".join(rows)
