"""Run by test_bad_input.py: fine-tune into OUTPUT_DIR and stop dead inside the third checkpoint write, after its
files are half written, so that the test can kill -9 this process mid-save. Usage: MODEL OUTPUT_DIR READY_FILE."""

import sys
import time
from pathlib import Path

from test_bad_input import KILL_OPTIONS, kill_data

import dnabert_nb as dn

model_folder, output_dir, ready = sys.argv[1:4]
original = dn.DNABERTModel.write_files
calls = {"n": 0}


def hang_in_third_write(self, folder, **options):
    calls["n"] += 1
    original(self, folder, **options)
    if calls["n"] == 3:
        Path(ready).write_text(str(folder))
        time.sleep(600)


dn.DNABERTModel.write_files = hang_in_third_write
dn.finetune(dn.load(model_folder), *kill_data(), **KILL_OPTIONS, output_dir=output_dir)
