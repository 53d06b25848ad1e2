"""impala_tf: a TensorFlow 2 reproduction of IMPALA (Espeholt et al., 2018).

Direct dependencies are pinned exactly; constraints.txt pins every transitive
one, so `pip install -c constraints.txt -e .` gives the same stack next month.
"""

import setuptools

CORE = [
    'tensorflow==2.21.0',
    'dm-sonnet==2.0.2',
    'dm-tree==0.1.10',
    'gymnasium==1.4.0',
    'ale-py==0.12.1',
    'opencv-python-headless==5.0.0.93',
    'absl-py==2.5.1',
    'numpy==2.4.6',
    'matplotlib==3.11.2',
    'tensorboard==2.21.0',
]

EXTRAS = {
    'test': ['pytest==9.2.0'],
    # NVIDIA's CUDA 12 libraries for the same TensorFlow build.
    'cuda': ['tensorflow[and-cuda]==2.21.0'],
    # Interop with tf_agents PyEnvironments (impala_tf.envs.tf_agents_adapter).
    # tf-agents 0.19.0 itself pins typing-extensions==4.5.0, which the core
    # stack cannot use, so .ci/tf_agents.sh installs it with --no-deps into a
    # separate virtualenv; these are the rest of its needs.
    'tf-agents': ['tf-keras==2.21.0', 'tensorflow-probability==0.23.0',
                  'gin-config==0.5.0', 'gym==0.23.0', 'pillow==13.0.0'],
}

setuptools.setup(
    name='impala_tf',
    version='0.1.0',
    description='IMPALA (V-trace actor-learner) reproduction in TensorFlow 2',
    packages=setuptools.find_packages(include=['impala_tf', 'impala_tf.*']),
    package_data={'impala_tf': ['scoring/data/*.csv']},
    python_requires='>=3.11,<3.13',
    install_requires=CORE,
    extras_require=EXTRAS,
)
