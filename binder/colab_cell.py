# Colab only: fetch the companion and install it with its Debian packages (a few minutes; Colab's
# own torch is kept). Anywhere else this cell does nothing: install with `make test` first.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    if not os.path.isdir("/content/artifactnet"):
        subprocess.run(["git", "clone", "--depth", "1",
                        "https://github.com/artifactnet-companion/artifactnet-companion", "/content/artifactnet"],
                       check=True)
        subprocess.run(["bash", "/content/artifactnet/binder/colab_setup.sh"], check=True)
    sys.path.insert(0, "/content/artifactnet")
