"""The bench model (an SD 1.5-shaped AUTOMATIC1111 single file) as diffusers' float32 UNet and VAE,
converted by diffusers' own converters: what both diffusers sides of the benches run."""
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.loaders import single_file_utils
from safetensors.torch import load_file


def load_unet_and_vae(path):
    ldm = {k: v.float() for k, v in load_file(path).items()}
    unet = UNet2DConditionModel(cross_attention_dim=768)
    unet.load_state_dict(single_file_utils.convert_ldm_unet_checkpoint(ldm, dict(unet.config)))
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4, sample_size=512)
    vae.load_state_dict(single_file_utils.convert_ldm_vae_checkpoint(ldm, dict(vae.config)))
    return unet.eval(), vae.eval()
