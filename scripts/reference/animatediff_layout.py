"""AnimateDiff motion modules' two layouts: diffusers' names and the original ones."""


def to_original(name):
    """diffusers' name → the original AnimateDiff name (the inverse of diffusers' converter)."""
    head, _, rest = name.partition(".motion_modules.")
    index, _, inner = rest.partition(".")
    inner = (inner.replace(".norm1", ".norms.0").replace(".norm2", ".norms.1").replace(".norm3", ".ff_norm")
             .replace(".attn1", ".attention_blocks.0").replace(".attn2", ".attention_blocks.1"))
    return f"{head}.motion_modules.{index}.temporal_transformer.{inner}"


def from_original(name):
    """diffusers' converter (scripts/convert_animatediff_motion_module_to_diffusers.py)."""
    return (name.replace(".norms.0", ".norm1").replace(".norms.1", ".norm2").replace(".ff_norm", ".norm3")
            .replace(".attention_blocks.0", ".attn1").replace(".attention_blocks.1", ".attn2")
            .replace(".temporal_transformer", ""))
