"""JupyterHub integration for Kiln: KubeSpawner profiles from each user's launchable images.

::

    from kiln_jupyterhub import KilnImages
    c.KubeSpawner.profile_list = KilnImages(
        "http://kiln.kiln.svc:8080", os.environ["KILN_TOKEN"], accelerator="cpu"
    ).profile_list
"""

from .images import KilnError, KilnImages, profile_slug

__all__ = ["KilnError", "KilnImages", "profile_slug"]
__version__ = "0.1.0"
