namespace VDiTLens.Pipelines;

/// <summary>
/// The pipelines <c>vditlens bench-pipeline</c> builds with random weights: each family at its published checkpoint's
/// configs (text encoders, transformer, VAE, scheduler) and request size, and a tiny variant of each for CPU tests.
/// </summary>
public static class PipelinePresets
{
    public static IReadOnlyList<string> Names => All.Select(p => p.Name).ToList();

    public static PipelinePreset ByName(string name) =>
        All.FirstOrDefault(p => p.Name == name) ?? throw new VDiTLensException($"unknown pipeline preset '{name}' (use {string.Join(", ", Names)})");

    // Tokenizer fixtures (relative to tests/fixtures): ids do not matter for speed, and both sides read the same files.
    private const string T5Tokenizer = "t5_tokenizer_spm/hf_tokenizer";
    private const string LlamaTokenizer = "hunyuan_video_pipeline/pipeline/tokenizer";
    private const string ClipTokenizer = "hunyuan_video_pipeline/pipeline/tokenizer_2";

    /// <summary>google/t5-v1_1-xxl's encoder (CogVideoX and Mochi-1 text_encoder).</summary>
    private const string T5Xxl =
        """{"model_type":"t5","vocab_size":32128,"d_model":4096,"d_kv":64,"d_ff":10240,"num_layers":24,"num_heads":64,"relative_attention_num_buckets":32,"relative_attention_max_distance":128,"layer_norm_epsilon":1e-6,"feed_forward_proj":"gated-gelu","dense_act_fn":"gelu_new","is_gated_act":true,"is_encoder_decoder":false,"use_cache":false,"tie_word_embeddings":false}""";

    private const string TinyT5 =
        """{"model_type":"t5","vocab_size":32128,"d_model":32,"d_kv":8,"d_ff":64,"num_layers":2,"num_heads":4,"relative_attention_num_buckets":8,"relative_attention_max_distance":16,"layer_norm_epsilon":1e-6,"feed_forward_proj":"gated-gelu","dense_act_fn":"gelu_new","is_gated_act":true,"is_encoder_decoder":false,"use_cache":false,"tie_word_embeddings":false}""";

    /// <summary>diffusers' Wan2.1-T2V scheduler: UniPC on flow-matching sigmas, shift 3 (480p).</summary>
    private const string UniPcFlowShift3 =
        """{"num_train_timesteps":1000,"beta_start":0.0001,"beta_end":0.02,"beta_schedule":"linear","solver_order":2,"prediction_type":"flow_prediction","thresholding":false,"predict_x0":true,"solver_type":"bh2","lower_order_final":true,"disable_corrector":[],"use_flow_sigmas":true,"flow_shift":3.0,"timestep_spacing":"linspace","steps_offset":0,"final_sigmas_type":"zero"}""";

    /// <summary>THUDM/CogVideoX-5b's scheduler: DDIM, v-prediction, zero-terminal-SNR rescale, trailing spacing.</summary>
    private const string CogVideoXDdim =
        """{"num_train_timesteps":1000,"beta_start":0.00085,"beta_end":0.012,"beta_schedule":"scaled_linear","clip_sample":false,"clip_sample_range":1.0,"prediction_type":"v_prediction","rescale_betas_zero_snr":true,"sample_max_value":1.0,"set_alpha_to_one":true,"snr_shift_scale":1.0,"steps_offset":0,"timestep_spacing":"trailing"}""";

    private static string FlowMatchEuler(double shift, bool invertSigmas) =>
        $$"""{"num_train_timesteps":1000,"shift":{{shift:0.0}},"invert_sigmas":{{(invertSigmas ? "true" : "false")}},"use_dynamic_shifting":false,"base_shift":0.5,"max_shift":1.15,"base_image_seq_len":256,"max_image_seq_len":4096,"shift_terminal":null,"stochastic_sampling":false,"time_shift_type":"exponential","use_karras_sigmas":false,"use_exponential_sigmas":false,"use_beta_sigmas":false}""";

    private const string MochiLatentsMeanStd =
        "\"latents_mean\":[-0.06730895953510081,-0.038011381506090416,-0.07477820912866141,-0.05565264470995561,0.012767231469026969,-0.04703542746246419,0.043896967884726704,-0.09346305707025976,-0.09918314763016893,-0.008729793427399178,-0.011931556316503654,-0.0321993391887285],\"latents_std\":[0.9263795028493863,0.9248894543193766,0.9393059390890617,0.959253732819592,0.8244560132752793,0.917259975397747,0.9294154431013696,1.3720942357788521,0.881393668867029,0.9168315692124348,0.9185249279345552,0.9274757570805041]";

    private static PresetComponent[] Wan(string transformer, string textEncoder, string vae) =>
    [
        PresetComponent.Diffusers("transformer", "WanTransformer3DModel", transformer),
        PresetComponent.Transformers("text_encoder", "UMT5EncoderModel", textEncoder),
        PresetComponent.Tokenizer("tokenizer", "T5Tokenizer", T5Tokenizer),
        PresetComponent.Diffusers("scheduler", "UniPCMultistepScheduler", UniPcFlowShift3),
        PresetComponent.Diffusers("vae", "AutoencoderKLWan", vae),
    ];

    private static PresetComponent[] CogVideoX(string transformer, string textEncoder, string vae) =>
    [
        PresetComponent.Diffusers("transformer", "CogVideoXTransformer3DModel", transformer),
        PresetComponent.Transformers("text_encoder", "T5EncoderModel", textEncoder),
        PresetComponent.Tokenizer("tokenizer", "T5Tokenizer", T5Tokenizer),
        PresetComponent.Diffusers("scheduler", "CogVideoXDDIMScheduler", CogVideoXDdim),
        PresetComponent.Diffusers("vae", "AutoencoderKLCogVideoX", vae),
    ];

    private static PresetComponent[] Mochi(string transformer, string textEncoder, string vae) =>
    [
        PresetComponent.Diffusers("transformer", "MochiTransformer3DModel", transformer),
        PresetComponent.Transformers("text_encoder", "T5EncoderModel", textEncoder),
        PresetComponent.Tokenizer("tokenizer", "T5Tokenizer", T5Tokenizer),
        PresetComponent.Diffusers("scheduler", "FlowMatchEulerDiscreteScheduler", FlowMatchEuler(1.0, invertSigmas: true)),
        PresetComponent.Diffusers("vae", "AutoencoderKLMochi", vae),
    ];

    private static PresetComponent[] HunyuanVideo(string transformer, string llama, string clip, string vae) =>
    [
        PresetComponent.Diffusers("transformer", "HunyuanVideoTransformer3DModel", transformer),
        PresetComponent.Transformers("text_encoder", "LlamaModel", llama),
        PresetComponent.Tokenizer("tokenizer", "PreTrainedTokenizerFast", LlamaTokenizer),
        PresetComponent.Transformers("text_encoder_2", "CLIPTextModel", clip),
        PresetComponent.Tokenizer("tokenizer_2", "CLIPTokenizer", ClipTokenizer),
        PresetComponent.Diffusers("scheduler", "FlowMatchEulerDiscreteScheduler", FlowMatchEuler(7.0, invertSigmas: false)),
        PresetComponent.Diffusers("vae", "AutoencoderKLHunyuanVideo", vae),
    ];

    private static readonly PipelinePreset[] All =
    {
        // Wan2.1-T2V-1.3B: umT5-XXL's encoder, the Wan2.1 VAE (diffusers' defaults); WanPipeline's defaults.
        new("wan-1.3b", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", WanPipelineFolder.PipelineClass, Wan(
                """{"patch_size":[1,2,2],"num_attention_heads":12,"attention_head_dim":128,"in_channels":16,"out_channels":16,"text_dim":4096,"freq_dim":256,"ffn_dim":8960,"num_layers":30,"cross_attn_norm":true,"qk_norm":"rms_norm_across_heads","eps":1e-6,"rope_max_seq_len":1024}""",
                """{"model_type":"umt5","vocab_size":256384,"d_model":4096,"d_kv":64,"d_ff":10240,"num_layers":24,"num_heads":64,"relative_attention_num_buckets":32,"relative_attention_max_distance":128,"layer_norm_epsilon":1e-6,"feed_forward_proj":"gated-gelu","is_encoder_decoder":false,"use_cache":false,"tie_word_embeddings":false}""",
                """{"base_dim":96,"z_dim":16,"dim_mult":[1,2,4,4],"num_res_blocks":2,"attn_scales":[],"temperal_downsample":[false,true,true],"dropout":0.0}"""),
            480, 832, 81, 50, 512, 5.0),
        // CogVideoX-5B: 480 × 720, 49 frames (the transformer's sample size), DDIM, guidance 6, 50 steps, as diffusers'
        // CogVideoXPipeline example (no dynamic guidance there); the VAE decodes without tiling, as in that example.
        new("cogvideox-5b", "THUDM/CogVideoX-5b", CogVideoXPipelineFolder.PipelineClass, CogVideoX(
                """{"num_attention_heads":48,"attention_head_dim":64,"in_channels":16,"out_channels":16,"flip_sin_to_cos":true,"freq_shift":0,"time_embed_dim":512,"ofs_embed_dim":null,"text_embed_dim":4096,"num_layers":42,"dropout":0.0,"attention_bias":true,"sample_width":90,"sample_height":60,"sample_frames":49,"patch_size":2,"patch_size_t":null,"temporal_compression_ratio":4,"max_text_seq_length":226,"activation_fn":"gelu-approximate","timestep_activation_fn":"silu","norm_elementwise_affine":true,"norm_eps":1e-5,"spatial_interpolation_scale":1.875,"temporal_interpolation_scale":1.0,"use_rotary_positional_embeddings":true,"use_learned_positional_embeddings":false,"patch_bias":true}""",
                T5Xxl,
                """{"in_channels":3,"out_channels":3,"down_block_types":["CogVideoXDownBlock3D","CogVideoXDownBlock3D","CogVideoXDownBlock3D","CogVideoXDownBlock3D"],"up_block_types":["CogVideoXUpBlock3D","CogVideoXUpBlock3D","CogVideoXUpBlock3D","CogVideoXUpBlock3D"],"block_out_channels":[128,256,256,512],"latent_channels":16,"layers_per_block":3,"act_fn":"silu","norm_eps":1e-6,"norm_num_groups":32,"temporal_compression_ratio":4,"sample_height":480,"sample_width":720,"scaling_factor":0.7,"shift_factor":null,"latents_mean":null,"latents_std":null,"force_upcast":true,"use_quant_conv":false,"use_post_quant_conv":false,"invert_scale_latents":false}"""),
            480, 720, 49, 50, 226, 6.0),
        // Mochi-1 preview: MochiPipeline's defaults (480 × 848, 19 frames, 64 steps, guidance 4.5, 256 tokens), VAE tiling on
        // as diffusers' example enables it.
        new("mochi-1", "genmo/mochi-1-preview", MochiPipelineFolder.PipelineClass, Mochi(
                """{"patch_size":2,"num_attention_heads":24,"attention_head_dim":128,"num_layers":48,"pooled_projection_dim":1536,"in_channels":12,"out_channels":null,"qk_norm":"rms_norm","text_embed_dim":4096,"time_embed_dim":256,"activation_fn":"swiglu","max_sequence_length":256}""",
                T5Xxl,
                $$"""{"in_channels":15,"out_channels":3,"encoder_block_out_channels":[64,128,256,384],"decoder_block_out_channels":[128,256,512,768],"latent_channels":12,"layers_per_block":[3,3,4,6,3],"act_fn":"silu","temporal_expansions":[1,2,3],"spatial_expansions":[2,2,2],"add_attention_block":[false,true,true,true,true],{{MochiLatentsMeanStd}},"scaling_factor":1.0}"""),
            480, 848, 19, 64, 256, 4.5),
        // HunyuanVideo: the size and steps of diffusers' HunyuanVideoPipeline example (320 × 512, 61 frames, 30 steps;
        // the pipeline's own default is 720 × 1280, 129 frames, 50 steps), embedded guidance 6, VAE tiling on as there.
        // Text encoders: Llama-3-8B (llava-llama-3-8b's language model, 128,320 ids) and CLIP ViT-L/14's text model.
        new("hunyuanvideo", "hunyuanvideo-community/HunyuanVideo", HunyuanVideoPipelineFolder.PipelineClass, HunyuanVideo(
                """{"in_channels":16,"out_channels":16,"num_attention_heads":24,"attention_head_dim":128,"num_layers":20,"num_single_layers":40,"num_refiner_layers":2,"mlp_ratio":4.0,"patch_size":2,"patch_size_t":1,"qk_norm":"rms_norm","guidance_embeds":true,"text_embed_dim":4096,"pooled_projection_dim":768,"rope_theta":256.0,"rope_axes_dim":[16,56,56],"image_condition_type":null}""",
                """{"model_type":"llama","vocab_size":128320,"hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"hidden_act":"silu","max_position_embeddings":8192,"rms_norm_eps":1e-5,"rope_theta":500000.0,"attention_bias":false,"mlp_bias":false,"tie_word_embeddings":false,"bos_token_id":128000,"eos_token_id":128001}""",
                """{"model_type":"clip_text_model","vocab_size":49408,"hidden_size":768,"intermediate_size":3072,"projection_dim":768,"num_hidden_layers":12,"num_attention_heads":12,"max_position_embeddings":77,"hidden_act":"quick_gelu","layer_norm_eps":1e-5,"bos_token_id":0,"eos_token_id":2,"pad_token_id":1}""",
                """{"in_channels":3,"out_channels":3,"latent_channels":16,"down_block_types":["HunyuanVideoDownBlock3D","HunyuanVideoDownBlock3D","HunyuanVideoDownBlock3D","HunyuanVideoDownBlock3D"],"up_block_types":["HunyuanVideoUpBlock3D","HunyuanVideoUpBlock3D","HunyuanVideoUpBlock3D","HunyuanVideoUpBlock3D"],"block_out_channels":[128,256,512,512],"layers_per_block":2,"act_fn":"silu","norm_num_groups":32,"scaling_factor":0.476986,"spatial_compression_ratio":8,"temporal_compression_ratio":4,"mid_block_add_attention":true}"""),
            320, 512, 61, 30, 256, 6.0, EmbeddedGuidance: true),

        // The same structures at toy sizes, for CPU tests of the benchmark path.
        new("wan-tiny", "", WanPipelineFolder.PipelineClass, Wan(
                """{"patch_size":[1,2,2],"num_attention_heads":2,"attention_head_dim":16,"in_channels":16,"out_channels":16,"text_dim":32,"freq_dim":256,"ffn_dim":48,"num_layers":2,"cross_attn_norm":true,"qk_norm":"rms_norm_across_heads","eps":1e-6,"rope_max_seq_len":32}""",
                """{"model_type":"umt5","vocab_size":32128,"d_model":32,"d_kv":8,"d_ff":64,"num_layers":2,"num_heads":4,"relative_attention_num_buckets":8,"relative_attention_max_distance":16,"layer_norm_epsilon":1e-6,"feed_forward_proj":"gated-gelu"}""",
                """{"base_dim":4,"z_dim":16,"dim_mult":[1,2,4,4],"num_res_blocks":1,"attn_scales":[],"temperal_downsample":[false,true,true],"dropout":0.0}"""),
            32, 48, 9, 2, 16, 5.0),
        new("cogvideox-tiny", "", CogVideoXPipelineFolder.PipelineClass, CogVideoX(
                """{"num_attention_heads":2,"attention_head_dim":16,"in_channels":4,"out_channels":4,"time_embed_dim":8,"text_embed_dim":32,"num_layers":2,"sample_width":6,"sample_height":4,"sample_frames":9,"patch_size":2,"patch_size_t":null,"max_text_seq_length":16,"use_rotary_positional_embeddings":true,"use_learned_positional_embeddings":false}""",
                TinyT5,
                """{"block_out_channels":[16,32,32,32],"latent_channels":4,"layers_per_block":1,"norm_num_groups":8,"sample_height":32,"sample_width":48,"scaling_factor":0.7}"""),
            32, 48, 9, 2, 16, 6.0),
        new("mochi-tiny", "", MochiPipelineFolder.PipelineClass, Mochi(
                """{"patch_size":2,"num_attention_heads":2,"attention_head_dim":8,"num_layers":2,"pooled_projection_dim":12,"in_channels":12,"qk_norm":"rms_norm","text_embed_dim":32,"time_embed_dim":8,"activation_fn":"swiglu","max_sequence_length":16}""",
                TinyT5,
                $$"""{"in_channels":15,"out_channels":3,"encoder_block_out_channels":[32,32,32,32],"decoder_block_out_channels":[32,32,32,32],"latent_channels":12,"layers_per_block":[1,1,1,1,1],"temporal_expansions":[1,2,3],"spatial_expansions":[2,2,2],"add_attention_block":[false,true,true,true,true],{{MochiLatentsMeanStd}},"scaling_factor":1.0}"""),
            32, 48, 13, 2, 16, 4.5),
        new("hunyuanvideo-tiny", "", HunyuanVideoPipelineFolder.PipelineClass, HunyuanVideo(
                """{"in_channels":4,"out_channels":4,"num_attention_heads":2,"attention_head_dim":16,"num_layers":1,"num_single_layers":1,"num_refiner_layers":1,"mlp_ratio":4.0,"patch_size":2,"patch_size_t":1,"qk_norm":"rms_norm","guidance_embeds":true,"text_embed_dim":32,"pooled_projection_dim":16,"rope_theta":256.0,"rope_axes_dim":[4,6,6]}""",
                """{"model_type":"llama","vocab_size":722,"hidden_size":32,"intermediate_size":64,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":8,"hidden_act":"silu","max_position_embeddings":512,"rms_norm_eps":1e-5,"rope_theta":500000.0,"tie_word_embeddings":false}""",
                """{"model_type":"clip_text_model","vocab_size":920,"hidden_size":16,"intermediate_size":32,"projection_dim":16,"num_hidden_layers":2,"num_attention_heads":2,"max_position_embeddings":77,"hidden_act":"quick_gelu","layer_norm_eps":1e-5,"bos_token_id":0,"eos_token_id":2,"pad_token_id":1}""",
                """{"latent_channels":4,"block_out_channels":[16,32,32,32],"layers_per_block":1,"norm_num_groups":8,"scaling_factor":0.476986,"spatial_compression_ratio":8,"temporal_compression_ratio":4}"""),
            32, 48, 9, 2, 16, 6.0, EmbeddedGuidance: true),
    };
}
