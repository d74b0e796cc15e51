"""Where conda is usually installed and configured: what ``Conda.present`` looks for
(a few stat calls, before any of conda's code is loaded) and where ``location`` starts."""

SYSTEM_CONFIG_DIRS = ("/etc/conda", "/var/lib/conda")
# Where installers put conda, mamba and micromamba by default ("~" is the user's home).
USUAL_ROOTS = (
    "~/miniconda3", "~/miniconda", "~/miniforge3", "~/mambaforge", "~/anaconda3", "~/anaconda",
    "~/micromamba", "~/.local/share/mamba", "~/conda",
    "/opt/conda", "/opt/miniconda3", "/opt/miniforge3", "/opt/mambaforge", "/opt/anaconda3",
    "/opt/micromamba", "/usr/local/miniconda3", "/usr/local/conda",
)
